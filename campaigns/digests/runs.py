"""Run a digest window: claim it once, freeze its readers into a campaign of variants.

Everything happens in the caller's one transaction: the window's row (the compare-and-set),
the campaign, one variant per set of topics readers follow and language they read (English,
or Spanish for a reader whose ``subscriber.language`` is ``es``: the key ``es|<topics>``,
computed in the freeze's SQL), their deliveries and batches. A crash before the commit leaves
nothing; after it, the pipeline's recovery finishes the send.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from campaigns.digests.assembly import (
    WindowContent,
    digest_label,
    render_variant,
    window_content,
)
from campaigns.digests.models import DigestItem, DigestRun
from campaigns.digests.windows import Window
from campaigns.sending.freeze import freeze_variants
from campaigns.sending.models import Campaign, CampaignStatus, CampaignVariant
from engine.clock import now
from engine.config import Settings
from engine.i18n import CODES, DEFAULT
from subscribers.audience import digest_audience_select, language_of_key, topics_of_key

#: The languages with digests of their own; everyone else reads the English one.
DIGEST_LANGUAGES = tuple(code for code in CODES if code != DEFAULT)


def claim_window(session: Session, window: Window, *, started_by: str) -> DigestRun | None:
    """Insert the window's run; return it, or None when the window already has one.

    The unique ``(frequency, window_end)`` is the lock: two schedulers, a scheduler and a
    person at the CLI, or a rerun after a crash race on one insert, and exactly one wins.
    """
    table = DigestRun.__table__
    ran = sa.select(table.c.id).where(
        table.c.frequency == window.frequency.value, table.c.window_end == window.end
    )
    # The scheduler asks every minute: a read answers the usual case without an insert.
    if session.scalar(ran) is not None:
        return None
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    inserted = session.execute(
        dialect.insert(table)
        .values(
            frequency=window.frequency.value,
            window_start=window.start,
            window_end=window.end,
            timezone=window.zone,
            bulletins=0,
            recipients=0,
            started_by=started_by,
            created_at=now(),
        )
        .on_conflict_do_nothing(index_elements=["frequency", "window_end"])
        .returning(table.c.id)
    ).scalar_one_or_none()
    return None if inserted is None else session.get(DigestRun, inserted)


def run_digest(
    session: Session,
    window: Window,
    settings: Settings,
    *,
    started_by: str,
    batch_size: int | None = None,
) -> DigestRun | None:
    """Claim ``window`` and freeze its digest; None when it already ran (nothing is sent).

    Readers with nothing new in the window get nothing; a window nobody has anything new in
    is still recorded, with no campaign, so it never runs again. No approval gate and no
    start steps: a digest lists only bulletins approved for everyone (``window_content``),
    and it is never tracked.
    """
    last = _last_run(session, window)
    after = _after(window, last)
    if after is None:
        return None
    window = after
    run = claim_window(session, window, started_by=started_by)
    if run is None:
        return None
    carried = last.held_back.get("campaigns", []) if last is not None else []
    content = window_content(session, window, carried)
    run.held_back = {"campaigns": list(content.held_back)} if content.held_back else {}
    run.bulletins = len(content.bulletins)
    if not content.bulletins:
        session.flush()
        return run
    audience = digest_audience_select(
        window.frequency, content.topic_ids, DIGEST_LANGUAGES
    ).subquery()
    counted = session.execute(
        sa.select(audience.c.topic_key, sa.func.count())
        .group_by(audience.c.topic_key)
        .order_by(audience.c.topic_key)
    ).all()
    keys = [key for key, _count in counted]
    if not keys:
        session.flush()
        return run
    campaign = _digest_campaign(session, window, settings)
    _add_variants(session, run, campaign, content, keys, settings)
    expected = {number: count for number, (_key, count) in enumerate(counted, start=1)}
    freeze_variants(session, campaign, audience, batch_size or settings.BATCH_SIZE, expected)
    run.campaign_id, run.recipients = campaign.id, campaign.recipients
    if not campaign.recipients:
        # Everyone left between the count and the freeze: a campaign with nothing to send.
        campaign.status, campaign.finished_at = CampaignStatus.SENT, now()
    session.flush()
    return run


def _last_run(session: Session, window: Window) -> DigestRun | None:
    """Return the frequency's latest run (the one whose window ends last), if any."""
    return session.scalar(
        sa.select(DigestRun)
        .where(DigestRun.frequency == window.frequency.value)
        .order_by(DigestRun.window_end.desc())
        .limit(1)
    )


def _after(window: Window, last: DigestRun | None) -> Window | None:
    """Return ``window`` made to start where the frequency's last run ended; None if it is past.

    A new time zone or digest weekday moves the windows' boundaries. Moved earlier, the next
    window overlaps the last run's (its key is new, so the compare-and-set alone would list
    the overlap's bulletins twice); moved later, a gap opens before it that no run would
    cover. Either way the window starts at the last run's end, so every bulletin is listed
    once. A gap longer than one window is digests turned off for a while, not a moved
    boundary: the window keeps its own start rather than relay weeks of old bulletins.
    Windows ending by the last run's end are over.
    """
    if last is None:
        return window
    if window.end <= last.window_end:
        return None
    if window.start - last.window_end > window.end - window.start:
        return window
    return replace(window, start=last.window_end)


def _digest_campaign(session: Session, window: Window, settings: Settings) -> Campaign:
    local_end = window.local_end
    label = digest_label(window.frequency)
    campaign = Campaign(
        issue_id=None,
        issue_revision=0,
        name=f"{label}, {local_end.day} {local_end:%B %Y}",
        status=CampaignStatus.SENDING,
        timezone=window.zone,
        subject=label,
        from_address=settings.SENDER_ADDRESS,
        started_at=now(),
    )
    session.add(campaign)
    session.flush()
    return campaign


def _add_variants(
    session: Session,
    run: DigestRun,
    campaign: Campaign,
    content: WindowContent,
    keys: Sequence[str],
    settings: Settings,
) -> None:
    items: list[dict[str, Any]] = []
    for number, key in enumerate(keys, start=1):
        sections = content.sections(topics_of_key(key, content.topic_ids))
        language = language_of_key(key) or DEFAULT
        subject, rendered = render_variant(settings, content, sections, language)
        session.add(
            CampaignVariant(
                campaign_id=campaign.id,
                number=number,
                key=key,
                subject=subject,
                html=rendered.html,
                text=rendered.text,
            )
        )
        items.extend(
            {"run_id": run.id, "variant": number, "bulletin_id": bulletin.campaign_id,
             "topic_id": topic.id}
            for topic, entries in sections
            for bulletin in entries
        )  # fmt: skip
    session.flush()
    session.execute(sa.insert(DigestItem), items)
