"""Deliver batches: the one function both the in-process pool and the Celery task call.

Each batch goes through three short transactions: claim (and read its recipients), mark
``submitting`` (committed before the provider is called), record the answers. A task that is
delivered twice finds the batch no longer ``queued`` and does nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.sending.batches import (
    claim_batch,
    claim_next_batch,
    load_frozen,
    mark_submitting,
    read_recipients,
    record_results,
    release_batch,
)
from campaigns.sending.leases import LeaseKeeper
from campaigns.sending.models import BatchStatus, DeliveryStatus
from campaigns.sending.personalize import (
    CampaignMessages,
    Recipient,
    build_each,
    messages_cache,
)
from campaigns.sending.recovery import finish_if_complete
from campaigns.sending.service import pause_campaign
from campaigns.sending.templated import template_batch
from engine.clock import now
from engine.config import Settings
from engine.db import Database
from engine.delivery.base import (
    BackendAuthError,
    DeliveryBackend,
    OutcomeUnknownError,
    SendResult,
    TemplateBackend,
)
from engine.errors import Conflict

log = logging.getLogger(__name__)

CREDENTIALS_REFUSED = (
    "Paused: the mail provider refused our credentials ({backend}). Check the API key or SMTP "
    "login in the configuration, then resume the campaign; nothing in the stopped batch was sent."
)


def worker_name() -> str:
    """Return a name for the current thread that says which host and process holds a claim."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"[:120]


@dataclass(slots=True)
class BatchRunner:
    """Claim, personalize, hand over and record batches for one thread of one process."""

    database: Database
    settings: Settings
    backend: DeliveryBackend
    worker: str = ""

    def __post_init__(self) -> None:
        self.worker = self.worker or worker_name()

    def _lease_seconds(self) -> float:
        return float(self.settings.BATCH_LEASE_SECONDS)

    def _lease(self) -> datetime:
        return now() + timedelta(seconds=self._lease_seconds())

    def run_batch(self, batch_id: int) -> bool:
        """Deliver ``batch_id`` if it is still queued; return whether this call delivered it."""
        with self.database.engine.connect() as connection:
            with self._session(connection) as session:
                campaign_id = claim_batch(
                    session, batch_id, worker=self.worker, lease_until=self._lease()
                )
                claim = None if campaign_id is None else self._read(session, campaign_id, batch_id)
            if claim is None:
                return False
            hand_over = self._submit(connection, batch_id, *claim)
        return hand_over is not None and self._record(batch_id, claim[0], *hand_over)

    def run_next(self, campaign_id: int | None = None) -> bool:
        """Deliver the next queued batch (of ``campaign_id`` if given); False when none is left."""
        with self.database.engine.connect() as connection:
            with self._session(connection) as session:
                claimed = claim_next_batch(
                    session, worker=self.worker, lease_until=self._lease(), campaign_id=campaign_id
                )
                if claimed is None:
                    return False
                batch_id = claimed[0]
                claim = self._read(session, claimed[1], batch_id)
            hand_over = self._submit(connection, batch_id, *claim)
        if hand_over is not None:
            self._record(batch_id, claim[0], *hand_over)
        return True

    def _session(self, connection: sa.Connection) -> contextlib.AbstractContextManager[Session]:
        """Return a session on ``connection`` that commits on success (``Database.session``).

        A batch's transactions take two connections from the pool instead of four, each checkout
        costing a liveness ping: one for the claim and the mark before the provider call (back
        to back), one checked out afresh for the answers and the finish, since the provider may
        have kept the batch for minutes.
        """
        return self.database.session(connection)

    def _read(
        self, session: Session, campaign_id: int, batch_id: int
    ) -> tuple[CampaignMessages, list[Recipient]]:
        frozen = load_frozen(session, campaign_id, batch_id)
        builder = messages_cache.get(self.settings, frozen)
        return builder, read_recipients(session, batch_id, DeliveryStatus.CLAIMED)

    def _submit(
        self,
        connection: sa.Connection,
        batch_id: int,
        builder: CampaignMessages,
        recipients: list[Recipient],
    ) -> tuple[Callable[[], Sequence[SendResult]], list[SendResult]] | None:
        """Build the batch and mark it submitting; None (batch released) if it is not ours."""
        hand_over, unbuilt = self._prepare(builder, recipients)
        with self._session(connection) as session:
            if not mark_submitting(
                session, batch_id, worker=self.worker, lease_until=self._lease()
            ):
                release_batch(session, batch_id, worker=self.worker, source=BatchStatus.CLAIMED)
                return None
        return hand_over, unbuilt

    def _record(
        self,
        batch_id: int,
        builder: CampaignMessages,
        hand_over: Callable[[], Sequence[SendResult]],
        unbuilt: list[SendResult],
    ) -> bool:
        """Hand the batch over and record the answers; return whether they were recorded."""
        campaign_id = builder.campaign.id
        # Committed by ``_submit``: from here a crash leaves "submitting", which recovery turns
        # into "uncertain" rather than sending anyone a second copy.
        uncertain: Sequence[int] = ()
        try:
            with LeaseKeeper(self.database, batch_id, self.worker, self._lease_seconds()):
                results: Sequence[SendResult] = hand_over()
        except BackendAuthError as error:
            self._pause_for_credentials(campaign_id, batch_id, error)
            return False
        except OutcomeUnknownError as error:
            results, uncertain = error.results, error.unknown_ids
        with self.database.engine.connect() as connection:
            with self._session(connection) as session:
                held = record_results(
                    session, batch_id, [*unbuilt, *results], uncertain, worker=self.worker
                )
            if not held:
                log.warning(
                    "batch %s: answers arrived after our lease expired; recovery's record stands",
                    batch_id,
                )
                return False
            # After our commit, in a transaction of its own: a batch finishing at the same
            # moment saw our rows still open, so the last of them to commit must be the one
            # that looks.
            with self._session(connection) as session:
                finish_if_complete(session, campaign_id)
        return True

    def _prepare(
        self, builder: CampaignMessages, recipients: list[Recipient]
    ) -> tuple[Callable[[], Sequence[SendResult]], list[SendResult]]:
        """Build the batch in the backend's cheapest form while it is still only claimed.

        Returns the hand-over and the failures of recipients whose message could not be built:
        each fails alone, and the others still go.
        """
        backend = self.backend
        if isinstance(backend, TemplateBackend):
            batch, unbuilt = template_batch(builder, recipients)
            return (lambda: backend.send_template(batch) if batch.recipients else []), unbuilt
        messages, unbuilt = build_each(recipients, builder.message)
        return (lambda: backend.send_batch(messages) if messages else []), unbuilt

    def _pause_for_credentials(self, campaign_id: int, batch_id: int, error: Exception) -> None:
        log.error("campaign %s: provider refused credentials: %s", campaign_id, error)
        reason = CREDENTIALS_REFUSED.format(backend=self.backend.name)
        with self.database.session() as session:
            release_batch(session, batch_id, worker=self.worker, source=BatchStatus.SUBMITTING)
            # Another thread may have paused it first, or staff cancelled it meanwhile.
            with contextlib.suppress(Conflict):
                pause_campaign(session, campaign_id, reason)
