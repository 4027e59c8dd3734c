"""What the mail backend reports back after it takes a message, so a 0 in a report is explained.

Only SendGrid reports deliveries, opens and clicks (its Event Webhook); an SMTP server reports
bounces when its bounce mailbox hands them to Pinwheel; the outbox and memory backends report
nothing. Unsubscribes through the email's own link count whatever the backend.
"""

from __future__ import annotations

from dataclasses import dataclass

from campaigns.events.reports import Counts
from engine.config import Settings

#: ``Counts`` fields that only a provider's events (or DSNs) can fill.
PROVIDER_MEASURES = frozenset(
    {
        "delivered",
        "deferred",
        "bounced",
        "dropped",
        "complaints",
        "unique_opens",
        "machine_opens",
        "clicks",
        "unique_clickers",
    }
)
_NOT_SENDGRID = "with SendGrid they appear here as its events arrive."


@dataclass(frozen=True, slots=True)
class BackendFeedback:
    """How the report names the messages handed over and which measures can still move."""

    #: Label of the "accepted" row: "Handed to the outbox".
    handed: str
    #: ``PROVIDER_MEASURES`` this backend reports; the others are shown as not reported.
    reported: frozenset[str]
    note: str

    def reports(self, key: str) -> bool:
        """Return whether the measure ``key`` (a ``Counts`` field) can be reported."""
        return key not in PROVIDER_MEASURES or key in self.reported


def backend_feedback(settings: Settings, counts: Counts) -> BackendFeedback | None:
    """Say what the configured backend can report, unless the campaign's events already came.

    A campaign with provider events went out through a backend that reports, whatever the
    setting says today, so its counts speak for themselves (``None``).
    """
    if any(metric.value for metric in counts.metrics() if metric.key in PROVIDER_MEASURES):
        return None
    backend = settings.MAIL_BACKEND
    if backend == "sendgrid":
        return _sendgrid(settings)
    if backend == "smtp":
        return _smtp(settings)
    if backend == "memory":
        return BackendFeedback(
            "Kept by the memory backend",
            frozenset(),
            "The memory backend keeps messages for tests and reports no deliveries, opens, "
            f"clicks or bounces; {_NOT_SENDGRID}",
        )
    return BackendFeedback(
        "Handed to the outbox",
        frozenset(),
        "The outbox backend writes each message to a file and reports no deliveries, opens, "
        f"clicks or bounces; {_NOT_SENDGRID}",
    )


def _sendgrid(settings: Settings) -> BackendFeedback:
    if not settings.SENDGRID_WEBHOOK_PUBLIC_KEY:
        return BackendFeedback(
            "Accepted by SendGrid",
            frozenset(),
            "SendGrid's events are not received: set PINWHEEL_SENDGRID_WEBHOOK_PUBLIC_KEY to the "
            "verification key of its signed Event Webhook, and deliveries, opens and bounces "
            "appear here as they arrive.",
        )
    return BackendFeedback(
        "Accepted by SendGrid",
        PROVIDER_MEASURES,
        "No events from SendGrid yet: deliveries, opens and bounces appear here as its Event "
        "Webhook reports them, usually within minutes.",
    )


def _smtp(settings: Settings) -> BackendFeedback:
    if settings.RETURN_PATH:
        return BackendFeedback(
            "Accepted by the SMTP server",
            frozenset({"bounced", "deferred"}),
            "An SMTP server reports no deliveries, opens or clicks. Bounces and delays appear "
            "here as the bounce mailbox hands its reports to Pinwheel; "
            f"{_NOT_SENDGRID}",
        )
    return BackendFeedback(
        "Accepted by the SMTP server",
        frozenset(),
        "An SMTP server reports no deliveries, opens or clicks, and without "
        "PINWHEEL_RETURN_PATH its bounces go back to the sender's address, not to Pinwheel; "
        f"{_NOT_SENDGRID}",
    )
