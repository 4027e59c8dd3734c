"""Capture the staff pages and every email layout with the system Chromium into docs/screenshots/.

Run with ``python -m bench.screenshots`` (``make screenshots``). The app runs from a thread on a
throw-away SQLite database seeded with the sample issues; nothing reaches the network.
"""

from __future__ import annotations

import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from engine.clock import now
from engine.config import PROJECT_ROOT, load_settings

OUT = PROJECT_ROOT / "docs" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
WIDTHS = (375, 1200)
PASSWORD = "screenshots-password"
ADMIN = "editor@agency.example.org"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: The sample issue shown for each layout (see tests/campaigns/seed_issues.py).
LAYOUT_SEEDS = {
    "spotlight": "000_4d3826f911b046c4.txt",
    "digest": "001_dbc7b398651e7fd4.txt",
    "article": "003_89342d8e81b0a00a.txt",
    "resource_collection": "004_943bfdb49416324e.txt",
}


@dataclass(frozen=True, slots=True)
class Shot:
    file: str
    title: str
    width: int


def create_app_on(folder: Path, server: BaseWSGIServer) -> Flask:
    """Build the app on a fresh SQLite database whose BASE_URL is the bound server."""
    from engine.app import create_app
    from engine.db import Base, get_database
    from engine.migrate import load_models

    settings = load_settings(
        environ={},
        ENV="testing",
        DATABASE_URL=f"sqlite:///{folder / 'screenshots.db'}",
        SECRET_KEY="screenshots-only-secret",
        INSTANCE_PATH=str(folder / "instance"),
        MAIL_BACKEND="outbox",
        BASE_URL=f"http://127.0.0.1:{server.server_port}",
    )
    app = create_app(settings)
    load_models()
    Base.metadata.create_all(get_database(app).engine)
    return app


def seed(app: Flask) -> dict[str, Any]:
    """Add staff, topics, subscribers, one issue per layout and a scheduled campaign."""
    from campaigns.issues.models import Issue
    from campaigns.issues.service import create_issue
    from campaigns.scheduling.service import schedule_at
    from campaigns.sending.service import create_campaign
    from engine.audit import record
    from engine.db import get_database
    from engine.users import create_user
    from subscribers.models import Subscriber, Subscription, SubscriptionStatus, Topic
    from tests.campaigns.seed_issues import SEEDS

    ids: dict[str, Any] = {}
    with app.app_context(), get_database(app).session() as session:
        admin = create_user(session, email=ADMIN, password=PASSWORD, role="admin", name="Editor")
        topic = Topic(slug="trafficking", name="Human trafficking", category="Practice")
        digest = Topic(slug="digest", name="Monthly digest", category="Digests")
        session.add_all([topic, digest])
        session.flush()
        for n in range(12):
            reader = Subscriber(
                email=f"reader{n}@example.com", name=f"Reader {n}", consent_source="screenshots"
            )
            session.add(reader)
            session.flush()
            session.add(
                Subscription(
                    subscriber_id=reader.id, topic_id=topic.id, status=SubscriptionStatus.CONFIRMED
                )
            )
        for layout, seed_name in LAYOUT_SEEDS.items():
            issue = create_issue(session, SEEDS[seed_name], author_id=admin.id, topics=[topic])
            ids[layout] = issue.id
            record(session, admin, "issue.create", issue, layout=layout)
        spotlight = session.get_one(Issue, ids["spotlight"])
        campaign = create_campaign(
            session,
            spotlight,
            [topic],
            created_by=admin,
            settings=app.extensions["pinwheel.settings"],
        )
        local = (now() + timedelta(days=30)).replace(tzinfo=None, hour=9, minute=0, second=0)
        schedule_at(
            session, campaign.id, local, "America/New_York", now=now(), approval_threshold=1000
        )
        ids["campaign"] = campaign.id
        record(session, admin, "campaign.schedule", campaign, timezone="America/New_York")
        readers = list(session.scalars(sa.select(Subscriber).order_by(Subscriber.id)))
        for months_ago, layout in ((3, "digest"), (2, "article"), (1, "resource_collection")):
            past = create_campaign(
                session,
                session.get_one(Issue, ids[layout]),
                [topic],
                created_by=admin,
                settings=app.extensions["pinwheel.settings"],
            )
            started = now() - timedelta(days=30 * months_ago)
            add_sent_history(session, past, readers, started, variant=months_ago)
        article = session.get_one(Issue, ids["article"])
        _add_sent_correction(session, app, article, readers, admin)
        ids["corrected_slug"] = article.slug
        session.flush()
        ids["topic"] = session.scalar(sa.select(Topic.id).where(Topic.slug == "trafficking")) or 0
    return ids


def _add_sent_correction(
    session: Any, app: Flask, original: Any, readers: list[Any], admin: Any
) -> None:
    """Correct the sent article a week after it went out, so its web view shows the note."""
    from campaigns.corrections.service import create_correction
    from campaigns.issues.service import save_revision
    from campaigns.sending.service import create_campaign

    correction = create_correction(session, original, admin)
    note = "The helpline number was wrong: call 1-888-373-7888, any time, day or night."
    content = {
        **correction.content,
        "preheader": note,
        "blocks": [{"id": "correction", "type": "paragraph", "text": f"{note} We are sorry."}],
    }
    save_revision(session, correction, content, base_revision=1, saved_by_id=admin.id)
    campaign = create_campaign(
        session, correction, [], created_by=admin, settings=app.extensions["pinwheel.settings"]
    )
    assert original.published_at is not None
    add_sent_history(
        session, campaign, readers, original.published_at + timedelta(days=7), variant=1
    )


def add_sent_history(
    session: Any, campaign: Any, readers: list[Any], started: datetime, *, variant: int
) -> None:
    """Mark ``campaign`` sent at ``started`` to ``readers``, with a provider's events after it.

    The reports and the topic comparison then have numbers and charts to show: every message
    delivered, opens over the first two days, a few clicks, and unsubscribes; ``variant`` (1-3)
    makes each campaign's numbers its own.
    """
    from campaigns.events.models import DeliveryEvent
    from campaigns.sending.models import CampaignStatus, Delivery, DeliveryStatus

    campaign.status = CampaignStatus.SENT
    campaign.started_at, campaign.finished_at = started, started + timedelta(minutes=2)
    # Sent issues are published: the archive lists them and each has its web view.
    campaign.issue.published_at = started
    campaign.recipients = len(readers)
    deliveries = [
        Delivery(
            campaign_id=campaign.id,
            subscriber_id=reader.id,
            address=reader.email,
            status=DeliveryStatus.ACCEPTED,
            attempts=1,
            last_error="",
            updated_at=started,
        )
        for reader in readers
    ]
    session.add_all(deliveries)
    session.flush()
    events = [("delivered", n, 1) for n in range(len(deliveries))]
    events += [("open", n, 10 + 45 * n) for n in range(0, len(deliveries), 1 + variant)]
    events += [("open", n, 600 + 90 * n) for n in range(1, len(deliveries), 2 + variant)]
    events += [("click", n, 15 + 45 * n) for n in range(0, len(deliveries), 2 + variant)]
    events += [("unsubscribe", len(deliveries) - n, 240) for n in range(1, variant)]
    for number, (kind, n, minutes) in enumerate(events):
        session.add(
            DeliveryEvent(
                provider_event_id=f"shot-{campaign.id}-{number}",
                campaign_id=campaign.id,
                delivery_id=deliveries[n].id,
                kind=kind,
                occurred_at=started + timedelta(minutes=minutes),
                url="https://resources.example.org/" if kind == "click" else None,
            )
        )
    session.flush()


@contextmanager
def serving() -> Iterator[tuple[str, dict[str, Any]]]:
    """Serve a seeded app from a thread; yield its base URL and the seeded ids."""
    holder: dict[str, Flask] = {}
    server = make_server("127.0.0.1", 0, lambda e, s: holder["app"](e, s), threaded=True)
    with tempfile.TemporaryDirectory(prefix="pinwheel-shots-") as folder:
        holder["app"] = create_app_on(Path(folder), server)
        ids = seed(holder["app"])
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}", ids
        finally:
            server.shutdown()
            server.server_close()


def page_targets(base: str, ids: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    """Return ``(name, title, url, selector to wait for)`` for each staff page to capture."""
    issue = ids["spotlight"]
    return [
        ("editor", "Editor", f"{base}/admin/issues/{issue}/edit", "#checks .check, .check-ok"),
        ("preview", "Preview page", f"{base}/admin/issues/{issue}/preview", None),
        ("review", "Review and approval", f"{base}/admin/issues/{issue}/review", None),
        ("compose", "Campaign composition", f"{base}/admin/issues/{issue}/campaigns/new", None),
        ("campaign", "Campaign page", f"{base}/admin/campaigns/{ids['campaign']}", None),
        ("calendar", "Calendar", f"{base}/admin/calendar", None),
        ("audit", "Audit log", f"{base}/admin/audit/", None),
        ("settings", "Organisation settings", f"{base}/admin/settings/", None),
        ("topic-report", "Topic comparison", f"{base}/admin/reports/topics/trafficking", None),
        ("corrected", "A corrected issue's web view", f"{base}/view/{ids['corrected_slug']}", None),
    ]


def capture_pages(browser: Any, base: str, ids: dict[str, Any]) -> list[Shot]:
    """Sign in and capture each staff page at each width."""
    shots: list[Shot] = []
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 1000})
        page = context.new_page()
        page.goto(f"{base}/admin/login")
        page.fill("#email", ADMIN)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/admin/login" not in url)
        for name, title, url, ready in page_targets(base, ids):
            response = page.goto(url)
            if response is None or response.status != 200:
                print(f"skipped {name}: {url} answered {response.status if response else '?'}")
                continue
            if ready:
                page.wait_for_selector(ready, timeout=20_000)
            if name == "editor":
                # Fold the issue settings so the first blocks and the preview share the screen.
                page.click(".issue-settings summary")
            file = f"{name}-{width}.png"
            page.screenshot(path=str(OUT / file), full_page=name != "editor")
            shots.append(Shot(file, title, width))
            if name == "editor" and width > WIDTHS[0]:
                shots.append(capture_preview_modes(page, width))
        context.close()
    return shots


def capture_preview_modes(page: Any, width: int) -> Shot:
    """Switch the editor's preview to mobile width and dark mode and capture the preview pane."""
    page.check("input[name=pv-width][value=mobile]")
    page.check("input[name=pv-scheme][value=dark]")
    page.wait_for_timeout(500)
    file = f"editor-preview-mobile-dark-{width}.png"
    page.locator(".preview-pane").screenshot(path=str(OUT / file))
    return Shot(file, "Editor preview: mobile width, dark mode", width)


def capture_layouts(browser: Any) -> list[Shot]:
    """Render the sample issue of each layout and capture the email at each width."""
    from campaigns.content.document import content_from_dict
    from campaigns.rendering.render import RenderContext, render_issue
    from tests.campaigns.seed_issues import SEEDS

    context_ = RenderContext(
        "https://news.example.org",
        "Pinwheel Newsletters",
        "newsletters@pinwheel.example.org",
        "330 C Street SW, Washington, DC 20201",
        "/view/sample",
        "/subscribe",
    )
    shots: list[Shot] = []
    for layout, seed_name in LAYOUT_SEEDS.items():
        html = render_issue(content_from_dict(SEEDS[seed_name]), context_).html
        for width in WIDTHS:
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            page.route("**/*", lambda route: route.abort())
            page.set_content(html)
            file = f"email-{layout}-{width}.png"
            page.screenshot(path=str(OUT / file), full_page=True)
            shots.append(Shot(file, f"Email: {layout.replace('_', ' ')}", width))
            context.close()
    return shots


def write_index(shots: list[Shot]) -> None:
    """Write docs/screenshots/README.md listing every capture."""
    lines = [
        "# Screenshots",
        "",
        "Made by `make screenshots` (`python -m bench.screenshots`) with the system Chromium, "
        f"{now():%Y-%m-%d}. Widths: {' and '.join(f'{w} px' for w in WIDTHS)}.",
        "",
        "| view | width | file |",
        "|---|---|---|",
    ]
    lines += [f"| {s.title} | {s.width} px | [{s.file}]({s.file}) |" for s in shots]
    (OUT / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> int:
    """Capture every screenshot; exit 1 when Chromium or Playwright is missing."""
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: install chromium to take screenshots", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with serving() as (base, ids), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        shots = capture_pages(browser, base, ids) + capture_layouts(browser)
        browser.close()
    write_index(shots)
    print(f"{len(shots)} screenshots in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
