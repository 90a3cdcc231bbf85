"""HTTP pieces every transport shares: responses, the error model's one table and handler,
client addresses, security headers, the thread cache, the websocket dispatch middleware."""
