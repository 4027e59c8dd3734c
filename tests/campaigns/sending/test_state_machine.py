"""A hypothesis state machine over deliveries: crashes, retries, recovery and the books."""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from campaigns.sending.batches import claim_next_batch, mark_submitting, record_results
from campaigns.sending.models import (
    TERMINAL_DELIVERY_STATUSES,
    Batch,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
)
from campaigns.sending.recovery import delivery_counts, recover, resend_uncertain
from campaigns.sending.runner import BatchRunner
from campaigns.sending.service import pause_campaign, resume_campaign, start_campaign
from engine.clock import now
from engine.delivery.base import ResultStatus, SendResult
from engine.errors import Conflict
from engine.web import get_settings
from subscribers.models import Suppression, SuppressionReason
from subscribers.suppression import suppress
from tests.campaigns.sending.conftest import make_audience

pytestmark = pytest.mark.slow
AUDIENCE = 5


class ScriptedBackend:
    """Answer every message with the outcome the state machine chose, counting sends."""

    name = "scripted"

    def __init__(self) -> None:
        self.outcome = ResultStatus.ACCEPTED
        self.sends: Counter[int] = Counter()

    def send_batch(self, messages):
        results = []
        for message in messages:
            if self.outcome is ResultStatus.ACCEPTED:
                self.sends[message.delivery_id] += 1
            results.append(SendResult(message.delivery_id, self.outcome, provider_message_id="p"))
        return results

    def close(self) -> None:
        return None


def test_delivery_state_machine(session, database, settings, topic, new_campaign) -> None:
    make_audience(session, topic, AUDIENCE)
    template = new_campaign()

    class Deliveries(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            for table in (Delivery, Batch, Suppression):
                session.execute(sa.delete(table))
            session.execute(sa.delete(Campaign).where(Campaign.id != template.id))
            campaign = Campaign(
                issue_id=template.issue_id,
                issue_revision=1,
                name="machine",
                subject=template.subject,
                from_address=template.from_address,
                html=template.html,
                text=template.text,
                topics=list(template.topics),
            )
            session.add(campaign)
            session.flush()
            self.campaign_id = campaign.id
            start_campaign(
                session,
                campaign.id,
                expected=CampaignStatus.DRAFT,
                batch_size=2,
                settings=get_settings(),
            )
            session.commit()
            self.backend = ScriptedBackend()
            self.runner = BatchRunner(database, settings, self.backend, worker="machine")
            self.resent: set[int] = set()
            self.accepted: set[int] = set()
            self.uncertain: set[int] = set()
            #: Batches a crashed worker had handed over: its answers may still arrive, late.
            self.in_flight: list[tuple[int, list[int]]] = []

        @rule(outcome=st.sampled_from(list(ResultStatus)))
        def deliver(self, outcome: ResultStatus) -> None:
            self.backend.outcome = outcome
            self.runner.run_next(self.campaign_id)

        @rule(submitted=st.booleans())
        def crash(self, submitted: bool) -> None:
            lease = now() + timedelta(seconds=30)
            with database.session() as worker_session:
                claimed = claim_next_batch(worker_session, worker="doomed", lease_until=lease)
                if claimed and submitted:
                    mark_submitting(worker_session, claimed[0], worker="doomed", lease_until=lease)
                    ids = worker_session.scalars(
                        sa.select(Delivery.id).where(
                            Delivery.batch_id == claimed[0],
                            Delivery.status == DeliveryStatus.SUBMITTING,
                        )
                    )
                    self.in_flight.append((claimed[0], list(ids)))

        @rule(outcome=st.sampled_from(list(ResultStatus)))
        def late_answer(self, outcome: ResultStatus) -> None:
            """The crashed worker was only frozen: its provider's answer arrives now."""
            if not self.in_flight:
                return
            batch_id, ids = self.in_flight.pop(0)
            results = [SendResult(i, outcome, provider_message_id="late") for i in ids]
            with database.session() as s:
                record_results(s, batch_id, results, worker="doomed")
            if outcome is ResultStatus.ACCEPTED:
                self.backend.sends.update(ids)

        @rule()
        def recover_later(self) -> None:
            with database.session() as s:
                recover(s, now() + timedelta(hours=1))

        @rule()
        def resend(self) -> None:
            with database.session() as s:
                uncertain = s.scalars(
                    sa.select(Delivery.id).where(Delivery.status == DeliveryStatus.UNCERTAIN)
                )
                self.resent |= set(uncertain)
                with contextlib.suppress(Conflict):
                    resend_uncertain(s, self.campaign_id, approval_threshold=10**9)

        @rule(pause=st.booleans())
        def pause_or_resume(self, pause: bool) -> None:
            with database.session() as s, contextlib.suppress(Conflict):
                if pause:
                    pause_campaign(s, self.campaign_id)
                else:
                    resume_campaign(s, self.campaign_id, approval_threshold=10**9)

        @rule(n=st.integers(min_value=0, max_value=AUDIENCE - 1))
        def unsubscribe(self, n: int) -> None:
            with database.session() as s:
                suppress(s, f"reader{n}@example.com", SuppressionReason.UNSUBSCRIBE)

        @invariant()
        def books_balance(self) -> None:
            with database.session() as s:
                counts = delivery_counts(s, self.campaign_id)
                campaign = s.get(Campaign, self.campaign_id)
                assert sum(counts.values()) == campaign.recipients == AUDIENCE
                if campaign.status == CampaignStatus.SENT:
                    assert all(
                        counts[state] == 0
                        for state in DeliveryStatus
                        if state not in TERMINAL_DELIVERY_STATUSES
                    )
                accepted = set(
                    s.scalars(
                        sa.select(Delivery.id).where(Delivery.status == DeliveryStatus.ACCEPTED)
                    )
                )
                uncertain = set(
                    s.scalars(
                        sa.select(Delivery.id).where(Delivery.status == DeliveryStatus.UNCERTAIN)
                    )
                )
            assert self.accepted <= accepted, "an accepted delivery changed state"
            moved = self.uncertain - uncertain - self.resent
            assert not moved, "an uncertain delivery moved without a staff resend"
            self.accepted, self.uncertain = accepted, uncertain
            for delivery_id, sends in self.backend.sends.items():
                assert sends == 1 or delivery_id in self.resent, (
                    "a second copy without staff consent"
                )

    run_state_machine_as_test(
        Deliveries,
        settings=hypothesis_settings(
            max_examples=20,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
