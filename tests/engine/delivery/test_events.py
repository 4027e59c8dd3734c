from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.delivery.events import (
    ACTIONS_BY_KIND,
    STATE_BY_KIND,
    STATE_ORDER,
    BounceType,
    DeliveryState,
    EventAction,
    EventKind,
    ProviderEvent,
    action_for,
    advance,
    is_terminal,
    suppression_reason,
)

KINDS = st.sampled_from(list(EventKind))
STARTS = st.sampled_from([None, "submitting", "uncertain", *DeliveryState])


def make_event(kind: EventKind, **fields: object) -> ProviderEvent:
    return ProviderEvent(
        provider_event_id="e1",
        kind=kind,
        occurred_at=datetime(2026, 11, 21, tzinfo=UTC),
        email="reader@example.org",
        **fields,  # type: ignore[arg-type]
    )


def apply_all(start: str | None, kinds: list[EventKind]) -> str | None:
    state = start
    for kind in kinds:
        state = advance(state, kind)
    return state


def test_every_kind_has_an_action_and_a_state() -> None:
    assert set(ACTIONS_BY_KIND) == set(EventKind)
    assert set(STATE_BY_KIND) == set(EventKind)


def test_state_order_is_forward() -> None:
    assert advance(None, EventKind.PROCESSED) == "accepted"
    assert advance("accepted", EventKind.DEFERRED) == "deferred"
    assert advance("deferred", EventKind.DELIVERED) == "delivered"
    assert advance("delivered", EventKind.OPEN) == "opened"
    assert advance("opened", EventKind.CLICK) == "clicked"
    assert advance("clicked", EventKind.OPEN) == "clicked"
    assert advance("delivered", EventKind.DEFERRED) == "delivered"


def test_terminal_states_hold_against_later_events() -> None:
    assert advance("delivered", EventKind.BOUNCE) == "bounced"
    assert advance("bounced", EventKind.DELIVERED) == "bounced"
    assert advance("bounced", EventKind.CLICK) == "bounced"
    assert advance("clicked", EventKind.SPAMREPORT) == "complained"
    assert advance("complained", EventKind.BOUNCE) == "complained"
    assert is_terminal("dropped") and not is_terminal("clicked")


def test_pipeline_statuses_rank_below_accepted() -> None:
    assert advance("submitting", EventKind.PROCESSED) == "accepted"
    assert advance("uncertain", EventKind.DELIVERED) == "delivered"


def test_unsubscribe_events_only_prove_acceptance() -> None:
    assert advance(None, EventKind.UNSUBSCRIBE) == "accepted"
    assert advance("clicked", EventKind.GROUP_UNSUBSCRIBE) == "clicked"


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        advance(None, "teleported")


@given(STARTS, st.lists(KINDS, max_size=12), st.randoms())
def test_final_state_does_not_depend_on_arrival_order(
    start: str | None, kinds: list[EventKind], random: object
) -> None:
    shuffled = list(kinds)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    assert apply_all(start, kinds) == apply_all(start, shuffled)


@given(st.lists(KINDS, min_size=1, max_size=6).flatmap(st.permutations))
def test_every_permutation_reaches_the_highest_state(kinds: list[EventKind]) -> None:
    highest = max((STATE_BY_KIND[kind] for kind in kinds), key=STATE_ORDER.index)
    assert apply_all(None, kinds) == highest


@given(STARTS, KINDS)
def test_advance_never_moves_backwards(start: str | None, kind: EventKind) -> None:
    after = advance(start, kind)
    if start in set(DeliveryState):
        assert STATE_ORDER.index(DeliveryState(after)) >= STATE_ORDER.index(DeliveryState(start))


@pytest.mark.parametrize(
    ("kind", "fields", "action", "reason"),
    [
        (EventKind.BOUNCE, {"bounce_type": BounceType.HARD}, EventAction.SUPPRESS, "bounce"),
        (EventKind.BOUNCE, {"bounce_type": BounceType.SOFT}, EventAction.COUNT, None),
        (EventKind.BOUNCE, {"bounce_type": BounceType.BLOCKED}, EventAction.COUNT, None),
        (EventKind.BLOCKED, {"bounce_type": BounceType.BLOCKED}, EventAction.COUNT, None),
        (EventKind.DEFERRED, {}, EventAction.COUNT, None),
        (EventKind.SPAMREPORT, {}, EventAction.SUPPRESS, "complaint"),
        (EventKind.DROPPED, {"reason": "Bounced Address"}, EventAction.SUPPRESS, "bounce"),
        (EventKind.DROPPED, {"reason": "Invalid"}, EventAction.SUPPRESS, "bounce"),
        (
            EventKind.DROPPED,
            {"reason": "Spam Reporting Address"},
            EventAction.SUPPRESS,
            "complaint",
        ),
        (
            EventKind.DROPPED,
            {"reason": "Unsubscribed Address"},
            EventAction.SUPPRESS,
            "unsubscribe",
        ),
        (EventKind.DROPPED, {"reason": "Spam Content"}, EventAction.COUNT, None),
        (EventKind.DROPPED, {"reason": "Invalid SMTPAPI header"}, EventAction.COUNT, None),
        (EventKind.DROPPED, {}, EventAction.COUNT, None),
        (EventKind.UNSUBSCRIBE, {}, EventAction.UNSUBSCRIBE, None),
        (EventKind.GROUP_UNSUBSCRIBE, {}, EventAction.UNSUBSCRIBE, None),
        (EventKind.GROUP_RESUBSCRIBE, {}, EventAction.RESUBSCRIBE, None),
        (EventKind.OPEN, {}, EventAction.RECORD, None),
        (EventKind.CLICK, {}, EventAction.RECORD, None),
        (EventKind.DELIVERED, {}, EventAction.RECORD, None),
    ],
)
def test_action_mapping(
    kind: EventKind, fields: dict[str, object], action: EventAction, reason: str | None
) -> None:
    event = make_event(kind, **fields)
    assert action_for(event) is action
    assert suppression_reason(event) == reason
