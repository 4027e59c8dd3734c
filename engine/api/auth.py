"""Bearer-token authentication and role checks for the API (roles as in the staff UI)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from engine.db import request_session
from engine.errors import Forbidden, PinwheelError
from engine.users import ApiToken, Role, find_api_token

F = TypeVar("F", bound=Callable[..., Any])


class Unauthorized(PinwheelError):
    status = 401
    code = "unauthorized"


def authenticate_request() -> None:
    """Resolve the bearer token of the request into ``g.api_token`` or refuse with 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("Send an API token as 'Authorization: Bearer <token>'.")
    session = request_session()
    token = find_api_token(session, secret.strip())
    if token is None:
        raise Unauthorized("This API token is unknown or has been revoked.")
    session.commit()  # records last_used_at
    g.api_token = token


def current_token() -> ApiToken:
    """Return the authenticated token of this request."""
    return g.api_token


def api_actor() -> str:
    """Return how the audit log names the caller: the token's name and id."""
    token = current_token()
    return f"token:{token.id}:{token.name}"


def require_role(*roles: Role) -> Callable[[F], F]:
    """Allow tokens holding one of ``roles`` (admins hold every role); others get 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = current_token()
            if token.role != Role.ADMIN and token.role not in roles:
                raise Forbidden(f"A {token.role} token may not do this.")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
