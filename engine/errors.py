"""Domain errors and how every adapter turns them into a clear answer (never a traceback)."""

from __future__ import annotations

from typing import Any


class PinwheelError(Exception):
    """Base of expected failures; ``status`` is the HTTP status an adapter answers with."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def as_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ValidationFailed(PinwheelError):
    status = 422
    code = "validation_failed"


class NotFound(PinwheelError):
    status = 404
    code = "not_found"


class Conflict(PinwheelError):
    status = 409
    code = "conflict"


class Forbidden(PinwheelError):
    status = 403
    code = "forbidden"


class ServiceUnavailable(PinwheelError):
    """A service Pinwheel relies on (the mail service) refused or failed; try again later."""

    status = 503
    code = "service_unavailable"


class WrongCredentials(ValidationFailed):
    """A password or code that proves who someone is was wrong (counted against sign-in limits)."""

    code = "wrong_credentials"
