"""Provider-neutral delivery events, what each one asks of us, and the forward-only state order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

#: ``custom_args`` keys the SendGrid backend sets and the webhook reads back (ids only).
CAMPAIGN_ID_ARG = "campaign_id"
DELIVERY_ID_ARG = "delivery_id"


class EventKind(StrEnum):
    """What happened to a message; the values are SendGrid's ``event`` names."""

    PROCESSED = "processed"
    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BOUNCE = "bounce"
    BLOCKED = "blocked"
    DROPPED = "dropped"
    SPAMREPORT = "spamreport"
    UNSUBSCRIBE = "unsubscribe"
    GROUP_UNSUBSCRIBE = "group_unsubscribe"
    GROUP_RESUBSCRIBE = "group_resubscribe"
    OPEN = "open"
    CLICK = "click"


class BounceType(StrEnum):
    HARD = "hard"
    SOFT = "soft"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """One event about one message to one recipient, whichever provider reported it."""

    #: SendGrid's ``sg_event_id``, or a stable hash for DSNs: the de-duplication key.
    provider_event_id: str
    kind: EventKind
    #: Aware UTC.
    occurred_at: datetime
    #: Stripped and lower-cased.
    email: str
    campaign_id: int | None = None
    delivery_id: int | None = None
    #: Only DSNs know it (from Pinwheel's Message-ID); SendGrid events carry ``delivery_id``.
    subscriber_id: int | None = None
    #: SendGrid's ``sg_message_id`` up to the first dot; for DSNs the original ``<Message-ID>``
    #: as sent, which is what the SMTP backend records.
    provider_message_id: str | None = None
    bounce_type: BounceType | None = None
    reason: str | None = None
    url: str | None = None
    #: Apple Mail Privacy Protection and similar prefetchers, not a human reading.
    machine_open: bool = False
    #: The provider's element as received, for storage; left out of equality and hashing.
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)


class EventAction(StrEnum):
    """What the events pipeline does with an event besides recording it."""

    #: Add the address to the suppression list (reason from ``suppression_reason``).
    SUPPRESS = "suppress"
    #: The recipient unsubscribed (globally, or from the group SendGrid names).
    UNSUBSCRIBE = "unsubscribe"
    #: The recipient re-subscribed to a group from SendGrid's preference page.
    RESUBSCRIBE = "resubscribe"
    #: Count towards the bounce rate without suppressing: the address may work next time.
    COUNT = "count"
    #: Move the delivery state and the statistics, nothing else.
    RECORD = "record"


ACTIONS_BY_KIND: Mapping[EventKind, EventAction] = MappingProxyType(
    {
        EventKind.PROCESSED: EventAction.RECORD,
        EventKind.DELIVERED: EventAction.RECORD,
        EventKind.OPEN: EventAction.RECORD,
        EventKind.CLICK: EventAction.RECORD,
        EventKind.DEFERRED: EventAction.COUNT,
        EventKind.BLOCKED: EventAction.COUNT,
        EventKind.SPAMREPORT: EventAction.SUPPRESS,
        EventKind.UNSUBSCRIBE: EventAction.UNSUBSCRIBE,
        EventKind.GROUP_UNSUBSCRIBE: EventAction.UNSUBSCRIBE,
        EventKind.GROUP_RESUBSCRIBE: EventAction.RESUBSCRIBE,
        # Refined by bounce type and drop reason in ``action_for``.
        EventKind.BOUNCE: EventAction.COUNT,
        EventKind.DROPPED: EventAction.COUNT,
    }
)

#: Only a permanent failure suppresses; SendGrid's ``blocked`` is a reputation or content
#: refusal by the receiving server and says nothing about the address itself.
BOUNCE_ACTIONS: Mapping[BounceType | None, EventAction] = MappingProxyType(
    {
        BounceType.HARD: EventAction.SUPPRESS,
        BounceType.SOFT: EventAction.COUNT,
        BounceType.BLOCKED: EventAction.COUNT,
        None: EventAction.SUPPRESS,
    }
)

#: SendGrid's drop reasons (lower-cased) that mean the address is already on one of its
#: suppression lists, so we must stop sending too. Other drops ("Spam Content",
#: "Invalid SMTPAPI header", "Recipient List over Package Quota") are our fault, not the
#: address's, and only count.
DROP_REASON_SUPPRESSIONS: Mapping[str, str] = MappingProxyType(
    {
        "bounced address": "bounce",
        "invalid": "bounce",
        "spam reporting address": "complaint",
        "unsubscribed address": "unsubscribe",
    }
)


def suppression_reason(event: ProviderEvent) -> str | None:
    """Return the suppression reason (``bounce``, ``complaint``, ``unsubscribe``) or None."""
    if event.kind is EventKind.SPAMREPORT:
        return "complaint"
    if event.kind is EventKind.BOUNCE:
        return "bounce" if BOUNCE_ACTIONS[event.bounce_type] is EventAction.SUPPRESS else None
    if event.kind is EventKind.DROPPED:
        return DROP_REASON_SUPPRESSIONS.get((event.reason or "").strip().lower())
    return None


def action_for(event: ProviderEvent) -> EventAction:
    """Return what ``event`` asks of the pipeline beyond recording it."""
    if event.kind in (EventKind.BOUNCE, EventKind.DROPPED):
        return EventAction.SUPPRESS if suppression_reason(event) else EventAction.COUNT
    return ACTIONS_BY_KIND[event.kind]


class DeliveryState(StrEnum):
    """What the events say about one delivery, in forward-only order (see ``advance``)."""

    ACCEPTED = "accepted"
    DEFERRED = "deferred"
    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"
    DROPPED = "dropped"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


#: Rank order; the last three are terminal. Among terminals a complaint outranks a bounce,
#: which outranks a drop, so the final state never depends on arrival order.
STATE_ORDER: tuple[DeliveryState, ...] = tuple(DeliveryState)
TERMINAL_STATES: frozenset[DeliveryState] = frozenset(
    {DeliveryState.DROPPED, DeliveryState.BOUNCED, DeliveryState.COMPLAINED}
)
_RANK: Mapping[str, int] = MappingProxyType({state.value: i for i, state in enumerate(STATE_ORDER)})

#: Kinds that say nothing about how far the message got (processed, unsubscribes) still
#: prove the provider accepted it.
STATE_BY_KIND: Mapping[EventKind, DeliveryState] = MappingProxyType(
    {
        EventKind.PROCESSED: DeliveryState.ACCEPTED,
        EventKind.UNSUBSCRIBE: DeliveryState.ACCEPTED,
        EventKind.GROUP_UNSUBSCRIBE: DeliveryState.ACCEPTED,
        EventKind.GROUP_RESUBSCRIBE: DeliveryState.ACCEPTED,
        EventKind.DEFERRED: DeliveryState.DEFERRED,
        EventKind.DELIVERED: DeliveryState.DELIVERED,
        EventKind.OPEN: DeliveryState.OPENED,
        EventKind.CLICK: DeliveryState.CLICKED,
        EventKind.DROPPED: DeliveryState.DROPPED,
        EventKind.BOUNCE: DeliveryState.BOUNCED,
        EventKind.BLOCKED: DeliveryState.BOUNCED,
        EventKind.SPAMREPORT: DeliveryState.COMPLAINED,
    }
)


def is_terminal(state: str) -> bool:
    """Return whether no later event can move ``state`` out of the terminal group."""
    return state in TERMINAL_STATES


def advance(current: str | None, kind: EventKind | str) -> str:
    """Return the delivery state after an event of ``kind``, never moving backwards.

    A ``current`` outside ``DeliveryState`` (None, or a send-pipeline status such as
    ``submitting`` or ``uncertain``) ranks below ``accepted``: any event proves more.
    """
    target = STATE_BY_KIND[EventKind(kind)]
    if current is None or _RANK.get(current, -1) < _RANK[target.value]:
        return target.value
    return current
