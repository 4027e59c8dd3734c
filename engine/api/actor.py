"""An API token standing in for a staff user when a service asks who acts."""

from __future__ import annotations

from dataclasses import dataclass

from engine.api.auth import current_token
from engine.users import Role


@dataclass(frozen=True, slots=True)
class TokenActor:
    """A caller with a role but no staff account: ``id`` is ``None`` so no staff row is named.

    The audit log names it ``token:<id>:<name>``.
    """

    name: str
    role: Role
    id: None = None
    email: None = None

    def has_role(self, *roles: Role) -> bool:
        """Return whether the token holds one of ``roles``; admin tokens hold every role."""
        return self.role == Role.ADMIN or self.role in roles


def token_actor() -> TokenActor:
    """Return the actor of the current API request."""
    token = current_token()
    return TokenActor(name=f"{token.id}:{token.name}", role=Role(token.role))
