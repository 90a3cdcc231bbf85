"""Domain errors with stable codes and messages, never a wire status: each transport maps
them to its own form in one place (HTTP: ``server.http.statuses``)."""

from __future__ import annotations


class DomainError(Exception):
    """A request the rules refuse. ``code`` is stable and machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Malformed(DomainError):
    """The input cannot be read at all (not JSON, the wrong media type, a garbled header),
    as opposed to input that is read and refused (``Invalid``)."""


class Invalid(DomainError):
    """The input breaks a rule (wrong type, too long, bad reference)."""


class NotFound(DomainError):
    """The thing named does not exist (or is not visible to the caller)."""


class Unauthorized(DomainError):
    """A credential is required and was not given."""


class Forbidden(DomainError):
    """The credential given does not allow this."""


class Conflict(DomainError):
    """The thing changed under the caller (already handled, duplicate)."""


class DuplicateKey(Conflict):
    """A concurrent transaction took the same idempotency key; retrying replays it."""


class RateLimited(DomainError):
    """Too many requests; retry after ``retry_after`` seconds."""

    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(code, message)
        self.retry_after = max(1, retry_after)


class Unavailable(DomainError):
    """A dependency is down or overloaded; the request may be retried."""
