"""E-mail: building messages (``messages``, pure) and handing them to an SMTP server
(``smtp``, blocking: callers run it in a thread)."""
