"""Hand welcomes to the mail provider one at a time and say what became of each.

No database work here: the caller records the intent before and the outcome after each call.
One welcome per provider call, so an answer (or its absence) belongs to exactly one reader.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import has_app_context

from campaigns.rendering.render import RenderedIssue
from campaigns.sending.personalize import _mailto as unsubscribe_mailto
from campaigns.welcome.composition import Letter, SignedUp, render_welcome, welcome_message
from engine.config import Settings
from engine.delivery.base import BackendAuthError, DeliveryBackend, ResultStatus, SendResult
from engine.delivery.registry import backend_from_settings
from engine.organisation_cache import current_organisation
from subscribers.links import SubscriberLinks

log = logging.getLogger(__name__)


@dataclass(slots=True)
class WelcomeSender:
    """Build and hand over welcomes through one backend, compiling each issue once a round."""

    settings: Settings
    backend: DeliveryBackend
    links: SubscriberLinks
    reply_to: str = ""
    mailto: str = ""
    compiled: dict[tuple[str, int, tuple[SignedUp, ...]], RenderedIssue] = field(
        default_factory=dict
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> WelcomeSender:
        """Return a sender on the configured backend (raises if it cannot be built)."""
        return cls(
            settings,
            backend_from_settings(settings),
            SubscriberLinks.from_settings(settings),
            reply_to=current_organisation().reply_to if has_app_context() else "",
            mailto=unsubscribe_mailto(settings.UNSUBSCRIBE_MAILTO),
        )

    def send(self, letter: Letter) -> SendResult | None:
        """Send ``letter``; return the provider's answer, or None when the outcome is not known.

        A letter that cannot be built is known not to have gone: a temporary failure. Raises
        ``BackendAuthError`` when the provider refuses our credentials: nothing went.
        """
        try:
            message = welcome_message(
                self.settings,
                letter,
                self._compiled(letter),
                links=self.links,
                reply_to=self.reply_to,
                mailto=self.mailto,
            )
        except Exception as error:
            log.exception("welcome %s could not be built", letter.delivery_id)
            reason = f"The message could not be built: {error}"
            return SendResult(0, ResultStatus.FAILED_TRANSIENT, error=reason)
        try:
            return self.backend.send_batch([message])[0]
        except BackendAuthError:
            raise
        except Exception:
            # OutcomeUnknownError (the request went out, no reply came), or anything else
            # once the request may have left: the reader may have it, so it is not retried.
            log.exception("welcome %s: handed over, outcome not known", letter.delivery_id)
            return None

    def _compiled(self, letter: Letter) -> RenderedIssue:
        key = (letter.issue_slug, letter.issue_revision, letter.signed_up)
        if key not in self.compiled:
            self.compiled[key] = render_welcome(
                self.settings, letter.issue_slug, letter.content, letter.signed_up
            )
        return self.compiled[key]

    def close(self) -> None:
        """Close the backend's connection."""
        self.backend.close()
