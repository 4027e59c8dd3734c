"""The ledger of a send across hosts: its deliveries beside what the fake SendGrid received.

``check_ledger`` asserts the one-copy guarantee: every delivery is terminal; an accepted one
reached the provider exactly once, with the message id the provider gave; nobody got two
copies; the uncertain ones are listed and are only what a host that went away had in flight;
and the two sides' counts agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import sqlalchemy as sa

from campaigns.sending.models import Delivery
from campaigns.sending.models import DeliveryStatus as Ds
from engine.db import Database
from tests.fakes.sendgrid_server import FakeState

#: A delivery's recorded result: (status, provider message id).
Result = tuple[str, str | None]


@dataclass(frozen=True, slots=True)
class Held:
    """What a host held when it went away: any of these batches may end uncertain, and the
    ones it was submitting must."""

    batches: frozenset[int]
    submitting: frozenset[int]
    #: Claimed, not yet at the provider: recovery hands these to other hosts.
    claimed: frozenset[int]


class Row(NamedTuple):
    status: str
    address: str
    message_id: str | None
    batch_id: int


@dataclass(frozen=True, slots=True)
class Ledger:
    rows: dict[int, Row]
    #: By delivery id as the fake saw it (a string): copies, the copy's message id, senders.
    copies: Counter[str]
    message_ids: dict[str, str]
    senders: dict[str, set[str]]
    per_address: Counter[str]

    def ids(self, status: Ds) -> set[int]:
        return {i for i, row in self.rows.items() if row.status == status}


def read_ledger(database: Database, provider: FakeState, campaign_id: int) -> Ledger:
    """Read the campaign's deliveries and what the fake accepted."""
    with database.session() as session:
        rows = session.execute(
            sa.select(
                Delivery.id,
                Delivery.status,
                Delivery.address,
                Delivery.provider_message_id,
                Delivery.batch_id,
            ).where(Delivery.campaign_id == campaign_id)
        )
        table = {row[0]: Row(*row[1:]) for row in rows}
    senders: dict[str, set[str]] = {}
    for message in provider.accepted:
        senders.setdefault(message["delivery_id"], set()).add(message["client"])
    return Ledger(
        rows=table,
        copies=Counter(message["delivery_id"] for message in provider.accepted),
        message_ids={
            message["delivery_id"]: message["message_id"] for message in provider.accepted
        },
        senders=senders,
        per_address=Counter(message["to"] for message in provider.accepted),
    )


def check_ledger(
    ledger: Ledger,
    *,
    recipients: int,
    listed: set[int],
    away: tuple[str, Held] | None = None,
    settled: Mapping[int, Result] | None = None,
) -> str:
    """Assert the guarantee; return a summary line.

    ``away`` is the address of the host that went away and what it held; ``settled`` the
    results recovery and the hosts that took over had written before it came back.
    """
    _check_one_copy(ledger, recipients)
    uncertain = ledger.ids(Ds.UNCERTAIN)
    assert listed == uncertain, "`pinwheel campaigns uncertain` does not list the uncertain ones"
    if away is None:
        assert not uncertain, f"{len(uncertain)} uncertain deliveries, yet no host went away"
    else:
        _check_uncertain(ledger, *away)
    if settled is not None:
        _check_settled(ledger, settled)
    accepted = ledger.ids(Ds.ACCEPTED)
    reached = sum(1 for i in uncertain if ledger.copies[str(i)])
    assert sum(ledger.copies.values()) == len(accepted) + reached, "the provider's count differs"
    return (
        f"{len(accepted):,} accepted, {len(uncertain)} uncertain ({reached} reached the provider)"
    )


def _check_one_copy(ledger: Ledger, recipients: int) -> None:
    statuses = Counter(row.status for row in ledger.rows.values())
    assert len(ledger.rows) == recipients, f"{len(ledger.rows)} deliveries for {recipients}"
    assert set(statuses) <= {Ds.ACCEPTED, Ds.UNCERTAIN}, f"left open or failed: {statuses}"
    twice = [address for address, count in ledger.per_address.items() if count > 1]
    assert not twice, f"{len(twice)} addresses got two copies, e.g. {twice[:5]}"
    strangers = set(ledger.copies) - {str(i) for i in ledger.rows}
    assert not strangers, f"the provider got deliveries the database does not know: {strangers}"
    wrong = [
        i
        for i in ledger.ids(Ds.ACCEPTED)
        if ledger.copies[str(i)] != 1 or ledger.message_ids[str(i)] != ledger.rows[i].message_id
    ]
    assert not wrong, (
        f"{len(wrong)} accepted deliveries lack exactly one copy with their message id at the "
        f"provider, e.g. {[(i, ledger.copies[str(i)]) for i in wrong[:5]]}"
    )


def _check_uncertain(ledger: Ledger, address: str, held: Held) -> None:
    uncertain = ledger.ids(Ds.UNCERTAIN)
    foreign = {i for i in uncertain if ledger.rows[i].batch_id not in held.batches}
    assert not foreign, f"{len(foreign)} uncertain deliveries in batches {address} never held"
    in_flight = {i for i, row in ledger.rows.items() if row.batch_id in held.submitting}
    assert in_flight <= uncertain, (
        f"{len(in_flight - uncertain)} deliveries at the provider when {address} went away got "
        "an outcome nobody saw"
    )
    senders = {s for i in uncertain for s in ledger.senders.get(str(i), set())}
    assert senders <= {address}, f"copies of uncertain deliveries came from {senders}"


def _check_settled(ledger: Ledger, settled: Mapping[int, Result]) -> None:
    changed = {
        i: (before, ledger.rows[i].status, ledger.rows[i].message_id)
        for i, before in settled.items()
        if (ledger.rows[i].status, ledger.rows[i].message_id) != before
    }
    assert not changed, (
        f"the host that came back changed {len(changed)} settled results, e.g. "
        f"{list(changed.items())[:3]}"
    )
