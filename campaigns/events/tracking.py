"""Aggregate, opt-in tracking: counted links and an open pixel that identify nobody.

Tracking is off unless staff turn on ``Campaign.tracking``; some topics are sensitive and a
reader's clicks must not be tied to them. When it is on, the frozen HTML's links are rewritten
once, at freeze time, to ``/t/c/<campaign_id>/<link_id>`` (no subscriber id, no token), and a
pixel ``/t/o/<campaign_id>.gif`` is added. The redirect only goes to links stored here, so it
cannot be used as an open redirect. The plain-text part keeps its real links.
"""

from __future__ import annotations

import html
import re

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from campaigns.events.models import CampaignTally, TrackedLink
from campaigns.sending.models import Campaign
from engine.config import Settings
from engine.db import rowcount

_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?://[^"'<>\s]+)\2""", re.IGNORECASE)
#: Pinwheel's own per-recipient pages are never counted (and carry merge tags anyway).
_PERSONAL_PATHS = ("/unsubscribe/", "/preferences/", "/view/", "/confirm/", "/t/")
_links = TrackedLink.__table__
_tallies = CampaignTally.__table__


def click_path(campaign_id: int, link_id: int) -> str:
    """Return the path of a tracked link."""
    return f"/t/c/{campaign_id}/{link_id}"


def pixel_path(campaign_id: int) -> str:
    """Return the path of a campaign's open pixel."""
    return f"/t/o/{campaign_id}.gif"


def rewrite_links_for_tracking(session: Session, campaign: Campaign, settings: Settings) -> int:
    """Rewrite ``campaign.html``'s links to counted redirects and add the pixel; return links.

    Does nothing unless ``campaign.tracking`` is on. Safe to call twice: links already stored
    keep their ids and already rewritten links are left alone.
    """
    if not campaign.tracking:
        return 0
    base_url = settings.BASE_URL
    session.flush()
    known = {link.url: link.link_id for link in _stored_links(session, campaign.id)}

    def _replace(match: re.Match[str]) -> str:
        url = html.unescape(match[3])
        if not _trackable(url, base_url):
            return match[0]
        link_id = known.get(url)
        if link_id is None:
            link_id = known[url] = len(known) + 1
            session.add(TrackedLink(campaign_id=campaign.id, link_id=link_id, url=url))
        return f"{match[1]}{match[2]}{base_url}{click_path(campaign.id, link_id)}{match[2]}"

    rewritten = _HREF.sub(_replace, campaign.html)
    campaign.html = _with_pixel(rewritten, base_url + pixel_path(campaign.id))
    _ensure_tally(session, campaign.id)
    session.flush()
    return len(known)


def _stored_links(session: Session, campaign_id: int) -> list[TrackedLink]:
    return list(
        session.scalars(
            sa.select(TrackedLink)
            .where(TrackedLink.campaign_id == campaign_id)
            .order_by(TrackedLink.link_id)
        )
    )


def _trackable(url: str, base_url: str) -> bool:
    if "%%" in url:
        return False
    if url.startswith(base_url + "/"):
        return not url[len(base_url) :].startswith(_PERSONAL_PATHS)
    return True


def _with_pixel(document: str, pixel_url: str) -> str:
    if pixel_url in document:
        return document
    pixel = (
        f'<img src="{pixel_url}" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0" aria-hidden="true">'
    )
    end = document.lower().rfind("</body")
    if end == -1:
        return document + pixel
    return document[:end] + pixel + document[end:]


def _ensure_tally(session: Session, campaign_id: int) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(_tallies)
        .values(campaign_id=campaign_id, pixel_opens=0)
        .on_conflict_do_nothing(index_elements=["campaign_id"])
    )


def count_click(session: Session, campaign_id: int, link_id: int) -> str | None:
    """Count one click on a stored link and return its URL; None for an unknown link."""
    url = session.scalar(
        sa.update(_links)
        .where(_links.c.campaign_id == campaign_id, _links.c.link_id == link_id)
        .values(clicks=_links.c.clicks + 1)
        .returning(_links.c.url)
    )
    if url is None or not url.lower().startswith(("https://", "http://")):
        return None
    return url


def count_open(session: Session, campaign_id: int) -> bool:
    """Count one load of the campaign's pixel; return whether the campaign is tracked."""
    moved = session.execute(
        sa.update(_tallies)
        .where(_tallies.c.campaign_id == campaign_id)
        .values(pixel_opens=_tallies.c.pixel_opens + 1)
    )
    return rowcount(moved) == 1
