"""axe-core (WCAG 2.1 A and AA) on every staff page, at desktop and phone widths, and dark.

The pages come from the app's URL map, so a new staff page is checked without being listed
here: a rule under ``/admin`` is either visited (its arguments filled from the seeded rows) or
skipped with a reason below, and a rule this file cannot fill fails the test until it can.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask, url_for
from sqlalchemy.orm import Session
from werkzeug.routing import Rule

from campaigns.corrections.service import create_correction
from campaigns.demo.loader import DEMO_ADMIN, load_demo
from campaigns.digests.runs import run_digest
from campaigns.digests.windows import window_ending_on
from campaigns.events.models import CampaignTally, DeliveryEvent, TrackedLink
from campaigns.issues.compiled import render_stored_issue
from campaigns.issues.models import Issue
from campaigns.observances.service import add_observance
from campaigns.sending.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from campaigns.welcome.service import Scope, create_welcome
from engine.audit import record
from engine.clock import now
from engine.config import Settings
from engine.db import get_database
from engine.delivery.events import EventKind
from engine.delivery.outbox import list_outbox
from engine.staff_invites import invite_link, invite_message, invite_user, send_invite
from engine.two_factor import begin_enrolment
from engine.users import create_api_token, find_user
from subscribers.import_jobs import create_import_job, import_folder, run_import_job, upload_path
from subscribers.models import Frequency, Subscriber, SuppressionReason, Topic
from subscribers.suppression import suppress
from tests.browser.conftest import wcag_violations
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

#: Width and colour scheme: the pages follow the reader's dark preference, so it is checked too.
VIEWS = [(1280, "light"), (375, "light"), (1280, "dark")]
#: The success criteria of WCAG 2.1 levels A and AA, as axe-core tags them.
#: Staff URLs that are not pages a person reads, with the reason.
NOT_PAGES = {
    "auth.logout": "POST only",
    "campaigns.progress_json": "JSON for the campaign page's script",
    "compose.audience_count": "JSON for the compose page's script",
    "compose.send_time_json": "JSON for the compose page's script",
    "editor.load": "JSON for the editor's script",
    "issues.preview_html": "the email itself, framed by the preview page",
    "welcome.preview_html": "the welcome email itself (the renderer's checks cover emails)",
    "outbox.html_part": "the email itself, framed by the outbox page (sandboxed)",
    "audit.export": "CSV download",
    "reports.campaign_csv": "CSV download",
    "subscribers.export": "CSV download",
    "imports.errors": "CSV download",
}
#: Pages for people who are not signed in; visited in a fresh browser context.
SIGNED_OUT = {"auth.login", "auth.second_factor", "staff_invite.accept"}


@dataclass(frozen=True, slots=True)
class Seeded:
    """The rows whose ids fill the staff URLs' arguments, by argument name or by endpoint."""

    by_argument: dict[str, list[dict[str, Any]]]
    by_endpoint: dict[str, list[dict[str, Any]]]
    #: Signs in with a code after the password: the second sign-in step is a page too.
    two_factor_email: str

    def variants(self, rule: Rule) -> list[dict[str, Any]]:
        """Return the argument sets to visit ``rule`` with (one empty set for no arguments)."""
        if not rule.arguments:
            return [{}]
        if rule.endpoint in self.by_endpoint:
            return self.by_endpoint[rule.endpoint]
        return self.by_argument.get(min(rule.arguments), [])


def _seed(app: Flask, session: Session, settings: Settings) -> Seeded:
    """Load the demo, then add a sent campaign with events and one row of every other kind."""
    loaded = load_demo(session, settings, admin_password=PASSWORD)
    admin = find_user(session, DEMO_ADMIN)
    issue = session.get(Issue, loaded["issue"])
    assert issue is not None
    topic = session.scalars(sa.select(Topic).where(Topic.slug == "human-trafficking")).one()
    readers = list(session.scalars(sa.select(Subscriber).order_by(Subscriber.id).limit(12)))
    sent = [_sent_campaign(session, settings, issue, topic, readers, days) for days in (40, 5)]
    suppress(session, readers[-1].email, SuppressionReason.MANUAL, note="Asked by phone")
    create_api_token(session, user=admin, name="Reporting dashboard")
    add_observance(
        session,
        {"slug": "kinship-navigator-day", "name": "Kinship Navigator Day", "kind": "day",
         "rule": {"type": "fixed-date", "month": 1, "day": 20}, "region": "OH",
         "description": "A day for kinship navigators.", "topic": "human-trafficking",
         "colour": "#1E5631"},
        created_by_id=admin.id,
    )  # fmt: skip
    begin_enrolment(session, admin)  # so that the two-factor set-up page has a code to show
    guarded = make_user(session, "approver", email="two.factor@agency.example.org")
    guarded.totp_secret, guarded.totp_enabled_at = pyotp.random_base32(), now()
    invited = invite_user(session, email="new.editor@agency.example.org", role="editor")
    link = invite_link(settings, invited)
    record(session, admin, "user.invite", invited, role="editor")
    job = create_import_job(session, filename="contacts.csv", topics=[topic], user_id=admin.id)
    welcome = create_welcome(session, Scope(for_all=True), actor=admin)
    window = window_ending_on(Frequency.DAILY, (now() - timedelta(days=1)).date(), "UTC")
    digest = run_digest(session, window, settings, started_by="test")
    assert digest is not None
    correction = create_correction(session, issue, admin)
    session.commit()
    folder = import_folder(app)
    folder.mkdir(parents=True, exist_ok=True)
    upload_path(folder, job.id).write_text(
        "email,name\nnew.reader@example.org,New\nnot-an-address,X\n"
    )
    run_import_job(get_database(app), job.id, folder)
    assert send_invite(settings, invite_message(settings, invited, link, "Demo Admin"))
    message = list_outbox(settings.outbox_path)[0][0].name
    return Seeded(
        by_argument={
            "campaign_id": [{"campaign_id": loaded["campaign"]}, {"campaign_id": sent[-1]}],
            # A correction's editor and compose page differ from an issue's.
            "issue_id": [{"issue_id": issue.id}, {"issue_id": correction.id}],
            "topic_id": [{"topic_id": topic.id}],
            "subscriber_id": [{"subscriber_id": readers[0].id}],
            "job_id": [{"job_id": job.id}],
            "run_id": [{"run_id": digest.id}],
            "welcome_id": [{"welcome_id": welcome.id}],
            "name": [{"name": message}],
            "token": [{"token": link.rsplit("/", 1)[1]}],
        },
        by_endpoint={
            "observances.edit": [{"slug": "kinship-navigator-day"}],
            "reports.topic": [{"slug": topic.slug}],
        },
        two_factor_email=guarded.email,
    )


def _sent_campaign(
    session: Session,
    settings: Settings,
    issue: Issue,
    topic: Topic,
    readers: list[Subscriber],
    days_ago: int,
) -> int:
    """Add a tracked campaign sent ``days_ago`` with deliveries, opens, clicks and a bounce."""
    rendered = render_stored_issue(settings, issue)
    started = now() - timedelta(days=days_ago)
    campaign = Campaign(
        issue_id=issue.id,
        issue_revision=issue.revision,
        name=f"{issue.title} ({days_ago} days ago)",
        status=CampaignStatus.SENT,
        subject=issue.title,
        from_address=settings.SENDER_ADDRESS,
        html=rendered.html,
        text=rendered.text,
        tracking=True,
        started_at=started,
        finished_at=started + timedelta(minutes=5),
        recipients=len(readers),
        topics=[topic],
    )
    session.add(campaign)
    session.flush()
    session.add(
        TrackedLink(
            campaign_id=campaign.id, link_id=1, url="https://www.childwelfare.gov/", clicks=3
        )
    )
    session.add(CampaignTally(campaign_id=campaign.id, pixel_opens=7))
    for n, reader in enumerate(readers):
        delivery = Delivery(
            campaign_id=campaign.id,
            subscriber_id=reader.id,
            address=reader.email,
            status=DeliveryStatus.ACCEPTED,
            attempts=1,
            accepted_at=started,
        )
        session.add(delivery)
        session.flush()
        kinds = [EventKind.BOUNCE] if n == 0 else [EventKind.DELIVERED]
        kinds += [EventKind.OPEN] * (n % 3 > 0) + [EventKind.CLICK] * (n % 4 == 1)
        for k, kind in enumerate(kinds):
            session.add(
                DeliveryEvent(
                    provider_event_id=f"seed-{campaign.id}-{delivery.id}-{k}",
                    campaign_id=campaign.id,
                    delivery_id=delivery.id,
                    kind=kind.value,
                    occurred_at=started + timedelta(minutes=10 + 37 * n * k),
                    bounce_type="hard" if kind == EventKind.BOUNCE else None,
                    url="https://www.childwelfare.gov/" if kind == EventKind.CLICK else None,
                )
            )
    session.flush()
    return campaign.id


def _admin_rules(app: Flask) -> Iterator[Rule]:
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if rule.rule.startswith("/admin") and "GET" in (rule.methods or ()):
            yield rule


def _urls(app: Flask, seeded: Seeded) -> tuple[list[str], list[str]]:
    """Return the signed-in and signed-out page paths; fail on a rule no seeded row can fill."""
    signed_in: list[str] = []
    signed_out: list[str] = []
    unfilled: list[str] = []
    for rule in _admin_rules(app):
        if rule.endpoint in NOT_PAGES:
            continue
        variants = seeded.variants(rule)
        if not variants or any(set(values) != rule.arguments for values in variants):
            unfilled.append(f"{rule.endpoint} ({rule.rule})")
            continue
        with app.test_request_context():
            paths = [url_for(rule.endpoint, **values) for values in variants]
        (signed_out if rule.endpoint in SIGNED_OUT else signed_in).extend(paths)
    assert not unfilled, f"staff pages this test cannot fill in yet: {unfilled}"
    return signed_in, signed_out


def _violations(page: Any) -> list[str]:
    """Run axe-core's WCAG 2.1 A and AA rules on ``page``; return each violation in a line."""
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']}; "
        f"at {', '.join(' '.join(target) for target in violation['nodes'])}"
        for violation in wcag_violations(page)
    ]


def _check(page: Any, base: str, path: str, view: str, found: list[str]) -> None:
    """Load ``path`` and add what is wrong with it to ``found``."""
    response = page.goto(base + path)
    page.wait_for_load_state("networkidle")
    kind = response.headers.get("content-type", "") if response else ""
    if response is None or response.status != 200 or page.url != base + path:
        problems = [f"answered {response and response.status} at {page.url}, not the page"]
    elif not kind.startswith("text/html"):
        problems = [f"served as {kind!r}: the browser shows its HTML as text"]
    else:
        problems = _violations(page)
    found.extend(f"{path} ({view}): {problem}" for problem in problems)


def _sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/admin/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))


@pytest.mark.parametrize(("width", "scheme"), VIEWS)
def test_every_staff_page_has_no_wcag_violations(
    width: int,
    scheme: str,
    app: Flask,
    session: Session,
    settings: Settings,
    live_url: str,
    new_page: Callable[..., Any],
) -> None:
    seeded = _seed(app, session, settings)
    signed_in, signed_out = _urls(app, seeded)
    found: list[str] = []
    # axe-core is injected as an inline script, which the pages' CSP refuses.
    options = {
        "viewport": {"width": width, "height": 900},
        "color_scheme": scheme,
        "bypass_csp": True,
    }
    page = new_page(**options)
    _sign_in(page, live_url, DEMO_ADMIN)
    view = f"{width} px, {scheme}"
    for path in signed_in:
        _check(page, live_url, path, view, found)
    visitor = new_page(**options)
    for path in signed_out:
        if path != "/admin/login/code":
            _check(visitor, live_url, path, view, found)
    # The code step is reached only through the password step of an enrolled account.
    visitor.goto(f"{live_url}/admin/login")
    visitor.get_by_label("Email address").fill(seeded.two_factor_email)
    visitor.get_by_label("Password").fill(PASSWORD)
    visitor.get_by_role("button", name="Sign in").click()
    expect(visitor).to_have_url(re.compile(r"/admin/login/code"))
    _check(visitor, live_url, "/admin/login/code", view, found)
    assert signed_in and not found, "\n".join(found)
