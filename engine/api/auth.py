"""Bearer-token authentication and role checks for the API (roles as in the staff UI)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from engine.db import request_session
from engine.errors import Forbidden, PinwheelError
from engine.two_factor import is_enrolled
from engine.users import ApiToken, Role, StaffUser, find_api_token
from engine.web import get_settings

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
    found = find_api_token(session, secret.strip())
    if found is None:
        raise Unauthorized(
            "This API token is unknown, revoked, or its staff user is deactivated. Tokens act "
            "as a staff user: create one with 'pinwheel tokens create --user EMAIL NAME'."
        )
    token, user = found
    if get_settings().REQUIRE_2FA and not is_enrolled(user):
        # Otherwise a token would be a way around the two-factor rule for its owner.
        raise Unauthorized(
            f"{user.email} has not set up two-factor sign-in, which this site requires; their "
            "tokens work again once they have."
        )
    session.commit()  # records last_used_at
    g.api_token, g.api_user = token, user


def current_token() -> ApiToken:
    """Return the authenticated token of this request."""
    return g.api_token


def current_api_user() -> StaffUser:
    """Return the staff user the request's token acts as: their role, their name in the audit."""
    return g.api_user


def require_role(*roles: Role) -> Callable[[F], F]:
    """Allow tokens whose user holds one of ``roles`` (admins hold every role); others get 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_api_user()
            if not user.has_role(*roles):
                raise Forbidden(f"{user.email} is an {user.role}: that role may not do this.")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
