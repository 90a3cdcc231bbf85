"""The rules of Threadline: no HTTP, websockets, Redis or SQL in here."""
