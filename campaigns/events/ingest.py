"""Store provider events once, move delivery states forward and act on what the events say.

A batch costs a handful of statements whatever its size: one lookup of the deliveries it
names, one multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING`` (so a replayed event is
neither stored nor acted on twice), one ``executemany`` of rank-guarded state updates, and
suppression calls only for addresses not already suppressed.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from campaigns.events.models import DeliveryEvent
from campaigns.sending.models import Campaign, Delivery
from engine import metrics
from engine.clock import now
from engine.delivery.events import (
    STATE_ORDER,
    EventAction,
    ProviderEvent,
    action_for,
    advance,
    suppression_reason,
)
from subscribers.models import Suppression, SuppressionReason
from subscribers.suppression import HARD_REASONS, address_hash, suppress, unsubscribe_everywhere

_events = DeliveryEvent.__table__
_deliveries = Delivery.__table__
_CHUNK = 1000
_TEXT_LIMIT = 2000
#: Length of ``delivery_event.provider_event_id``; longer ids are stored as a hash.
_KEY_LIMIT = 100
#: Provider fields worth keeping with an event; the address, IP and user agent are left out.
PAYLOAD_KEYS = frozenset(
    {
        "event",
        "timestamp",
        "sg_event_id",
        "sg_message_id",
        "type",
        "status",
        "attempt",
        "category",
        "campaign_id",
        "delivery_id",
        "sg_machine_open",
        "bounce_classification",
        "asm_group_id",
        "tls",
        "url_offset",
        "Action",
        "Status",
        "Remote-MTA",
        "Reporting-MTA",
    }
)
_RANK = {state.value: rank for rank, state in enumerate(STATE_ORDER)}
_STORED_RANK = sa.case(_RANK, value=_deliveries.c.event_state, else_=-1)


@dataclass(frozen=True, slots=True)
class Target:
    """The delivery an event is about, as far as the database knows it."""

    campaign_id: int | None
    delivery_id: int | None
    #: The address the delivery was sent to, when the delivery is known.
    address: str | None


@dataclass(slots=True)
class IngestResult:
    """What one batch did: counts for logs and answers, and the campaigns it touched."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    #: Events left out because nothing proved which delivery they belong to (forged DSNs).
    ignored: int = 0
    suppressed: int = 0
    unsubscribed: int = 0
    campaign_ids: set[int] = field(default_factory=set)

    def as_json(self) -> dict[str, Any]:
        """Return the counts as a JSON-ready dict."""
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "ignored": self.ignored,
            "suppressed": self.suppressed,
            "unsubscribed": self.unsubscribed,
        }


def ingest_events(
    session: Session,
    events: Sequence[ProviderEvent],
    *,
    source: str,
    require_delivery: bool = False,
) -> IngestResult:
    """Store ``events`` once each, advance delivery states and apply suppressions.

    With ``require_delivery`` (DSNs), events that do not resolve to a delivery of ours are
    ignored and actions use the delivery's address, so a forged report cannot name anyone.
    """
    result = IngestResult(received=len(events))
    keyed = (_short_key(event) for event in reversed(events))
    unique = list({event.provider_event_id: event for event in keyed}.values())[::-1]
    targets = resolve_targets(session, unique)
    if require_delivery:
        known = [e for e in unique if targets[e.provider_event_id].delivery_id is not None]
        result.ignored, unique = len(unique) - len(known), known
    new_ids = _insert_events(session, unique, targets)
    fresh = [event for event in unique if event.provider_event_id in new_ids]
    result.stored = len(fresh)
    result.duplicates = result.received - result.ignored - result.stored
    _advance_states(session, fresh, targets)
    _apply_actions(session, fresh, targets, source, result)
    result.campaign_ids = {
        campaign_id
        for event in fresh
        if (campaign_id := targets[event.provider_event_id].campaign_id) is not None
    }
    _count_kinds(fresh)
    return result


def _count_kinds(events: Sequence[ProviderEvent]) -> None:
    for kind, count in Counter(event.kind.value for event in events).items():
        metrics.WEBHOOK_EVENTS.labels(kind=kind).inc(count)


def _short_key(event: ProviderEvent) -> ProviderEvent:
    if len(event.provider_event_id) <= _KEY_LIMIT:
        return event
    digest = hashlib.sha256(event.provider_event_id.encode()).hexdigest()[:32]
    return replace(event, provider_event_id=f"long:{digest}")


def resolve_targets(session: Session, events: Sequence[ProviderEvent]) -> dict[str, Target]:
    """Return each event's delivery and campaign, keeping only ids the database has."""
    by_id = _deliveries_by_id(session, {e.delivery_id for e in events if e.delivery_id})
    pairs = {(e.campaign_id, e.subscriber_id) for e in events if e.subscriber_id is not None}
    by_pair = _deliveries_by_pair(session, pairs)
    campaigns = _existing_campaigns(session, {e.campaign_id for e in events if e.campaign_id})
    targets: dict[str, Target] = {}
    for event in events:
        row = by_id.get(event.delivery_id) if event.delivery_id else None
        if row is None and event.campaign_id is not None and event.subscriber_id is not None:
            row = by_pair.get((event.campaign_id, event.subscriber_id))
        if row is not None and event.campaign_id not in (None, row[1]):
            row = None
        if row is not None:
            targets[event.provider_event_id] = Target(row[1], row[0], row[2])
        else:
            campaign_id = event.campaign_id if event.campaign_id in campaigns else None
            targets[event.provider_event_id] = Target(campaign_id, None, None)
    return targets


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    items = list(values)
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _deliveries_by_id(session: Session, ids: set[int | None]) -> dict[int, tuple[Any, ...]]:
    found: dict[int, tuple[Any, ...]] = {}
    columns = (_deliveries.c.id, _deliveries.c.campaign_id, _deliveries.c.address)
    for chunk in _chunks(ids):
        for row in session.execute(sa.select(*columns).where(_deliveries.c.id.in_(chunk))):
            found[row[0]] = tuple(row)
    return found


def _deliveries_by_pair(
    session: Session, pairs: set[tuple[int | None, int]]
) -> dict[tuple[int, int], tuple[Any, ...]]:
    found: dict[tuple[int, int], tuple[Any, ...]] = {}
    key = sa.tuple_(_deliveries.c.campaign_id, _deliveries.c.subscriber_id)
    columns = (_deliveries.c.id, _deliveries.c.campaign_id, _deliveries.c.address)
    for chunk in _chunks(pair for pair in pairs if pair[0] is not None):
        for row in session.execute(
            sa.select(*columns, _deliveries.c.subscriber_id).where(key.in_(chunk))
        ):
            found[(row[1], row[3])] = tuple(row[:3])
    return found


def _existing_campaigns(session: Session, ids: set[int | None]) -> set[int]:
    found: set[int] = set()
    for chunk in _chunks(ids):
        found.update(session.scalars(sa.select(Campaign.id).where(Campaign.id.in_(chunk))))
    return found


def _insert_events(
    session: Session, events: Sequence[ProviderEvent], targets: dict[str, Target]
) -> set[str]:
    if not events:
        return set()
    received = now()
    rows = [_row(event, targets[event.provider_event_id], received) for event in events]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(_events)
        .on_conflict_do_nothing(index_elements=["provider_event_id"])
        .returning(_events.c.provider_event_id)
    )
    return set(session.scalars(statement, rows))


def _row(event: ProviderEvent, target: Target, received: Any) -> dict[str, Any]:
    return {
        "provider_event_id": event.provider_event_id,
        "campaign_id": target.campaign_id,
        "delivery_id": target.delivery_id,
        "kind": event.kind.value,
        "occurred_at": event.occurred_at,
        "received_at": received,
        "bounce_type": event.bounce_type.value if event.bounce_type else None,
        "machine_open": event.machine_open,
        "url": event.url[:_TEXT_LIMIT] if event.url else None,
        "reason": event.reason[:_TEXT_LIMIT] if event.reason else None,
        "payload": {key: value for key, value in event.raw.items() if key in PAYLOAD_KEYS},
    }


def _advance_states(
    session: Session, events: Sequence[ProviderEvent], targets: dict[str, Target]
) -> None:
    latest: dict[int, str] = {}
    for event in events:
        delivery_id = targets[event.provider_event_id].delivery_id
        if delivery_id is not None:
            latest[delivery_id] = advance(latest.get(delivery_id), event.kind)
    by_state: dict[str, list[int]] = {}
    for delivery_id, state in latest.items():
        by_state.setdefault(state, []).append(delivery_id)
    # One statement per target state; the rank guard in SQL keeps a concurrent batch from
    # moving a state backwards.
    for state, ids in by_state.items():
        for chunk in _chunks(sorted(ids)):
            session.execute(
                sa.update(_deliveries)
                .where(_deliveries.c.id.in_(chunk), _RANK[state] > _STORED_RANK)
                .values(event_state=state)
            )


def _apply_actions(
    session: Session,
    events: Sequence[ProviderEvent],
    targets: dict[str, Target],
    source: str,
    result: IngestResult,
) -> None:
    suppressions: dict[str, SuppressionReason] = {}
    unsubscribes: dict[str, int | None] = {}
    for event in events:
        target = targets[event.provider_event_id]
        address = target.address or event.email
        action = action_for(event)
        if action is EventAction.SUPPRESS and (reason := suppression_reason(event)):
            suppressions.setdefault(address, SuppressionReason(reason))
        elif action is EventAction.UNSUBSCRIBE:
            unsubscribes.setdefault(address, target.campaign_id)
    existing = _existing_suppressions(session, {*suppressions, *unsubscribes})
    for address, reason in suppressions.items():
        if _needs_suppression(existing.get(address_hash(address)), reason):
            suppress(session, address, reason, source=source)
            result.suppressed += 1
    for address, campaign_id in unsubscribes.items():
        if existing.get(address_hash(address)) is None:
            unsubscribe_everywhere(session, address, source, campaign_id=campaign_id)
            result.unsubscribed += 1


def _existing_suppressions(session: Session, addresses: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in _chunks(address_hash(address) for address in addresses):
        rows = session.execute(
            sa.select(Suppression.address_hash, Suppression.reason).where(
                Suppression.address_hash.in_(chunk)
            )
        )
        found.update({digest: reason for digest, reason in rows})
    return found


def _needs_suppression(existing: str | None, reason: SuppressionReason) -> bool:
    # ``suppress`` is idempotent; skipping known entries keeps replays and big batches cheap.
    if existing is None:
        return True
    return existing == SuppressionReason.UNSUBSCRIBE and reason in HARD_REASONS
