"""Every public page, the ones that need no sign-in, is valid HTML5: 0 errors from the W3C Nu
checker (html5lib's strict parser where Java or the vnu jar is missing).

The email framed by ``/view/<slug>/email`` is email HTML, which HTML5 can never accept (see
docs/architecture.md, "Web view and archive"); feeds, ``/calendar.ics`` and the rest of
``NOT_PAGES`` are not HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from campaigns.archive import service as archive_service
from campaigns.issues.models import Issue
from engine import two_factor
from engine.config import Settings
from engine.staff_invites import invite_token, invite_user
from engine.users import StaffUser
from subscribers.models import (
    OptIn,
    Subscriber,
    SubscriptionStatus,
    SuppressionReason,
    Topic,
)
from subscribers.suppression import suppress
from subscribers.tokens import Purpose, TokenSigner
from tests.factories import PASSWORD, csrf_token_from, make_sent_issue, make_subscriber, make_topic
from tests.factories import make_user as make_staff_user
from tests.html_validator import page_checker

OBSERVANCE = "human-trafficking-prevention-month"


@dataclass
class Site:
    """A site with topics, readers and three sent issues, as a visitor finds it."""

    app: Flask
    session: Session
    settings: Settings
    topics: dict[str, Topic]
    reader: Subscriber
    issues: dict[str, Issue]
    monkeypatch: pytest.MonkeyPatch

    def visitor(self) -> FlaskClient:
        # Requests share the test's app context, where Flask-WTF keeps the last CSRF token.
        g.pop("csrf_token", None)
        return self.app.test_client()

    def token(self, purpose: Purpose, subscriber_id: int | None = None) -> str:
        signer = TokenSigner(self.settings.SECRET_KEY, self.settings.TOKEN_MAX_AGE_DAYS)
        return signer.sign(purpose, self.reader.id if subscriber_id is None else subscriber_id)

    def pending(self) -> Subscriber:
        """Return a new reader waiting to confirm two topics."""
        reader = make_subscriber(
            self.session,
            "waiting@example.com",
            topics=[self.topics["trafficking"], self.topics["foster"]],
            subscription_status=SubscriptionStatus.UNCONFIRMED,
        )
        self.session.commit()
        return reader

    def post_with_csrf(self, path: str, **form: str | list[str]) -> TestResponse:
        client = self.visitor()
        csrf = csrf_token_from(client.get(path).get_data(as_text=True))
        return client.post(path, data={**form, "csrf_token": csrf})


@pytest.fixture
def site(app: Flask, session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Site:
    topics = {
        "trafficking": make_topic(
            session, "human-trafficking", name="Human trafficking",
            category="Child welfare practice",
            description="Warning signs, screening tools and prevention guidance.",
        ),
        "foster": make_topic(
            session, "foster-care", name="Foster care & kinship",
            category="Child welfare practice", description="News for resource families.",
        ),
        "digest": make_topic(session, "monthly-digest", name="Monthly digest", category="News",
                             opt_in=OptIn.SINGLE),
    }  # fmt: skip
    reader = make_subscriber(
        session, "reader@example.com", topics=[topics["trafficking"], topics["digest"]]
    )
    # Times with microseconds, as rows written by the app have them.
    issues = {
        "old": make_sent_issue(
            session, settings, "Safe Homes for Every Child",
            datetime(2025, 5, 5, 14, 0, 7, 654321, tzinfo=UTC), [topics["foster"]],
        ),
        "middle": make_sent_issue(
            session, settings, "Protecting Youth From Trafficking",
            datetime(2026, 1, 5, 15, 0, 0, 123456, tzinfo=UTC), [topics["trafficking"]],
        ),
        "new": make_sent_issue(
            session, settings, "Monthly Digest: February",
            datetime(2026, 2, 2, 15, 30, 12, 999999, tzinfo=UTC), [topics["digest"]],
        ),
    }  # fmt: skip
    issues["middle"].observance_slug = OBSERVANCE
    session.commit()
    return Site(app, session, settings, topics, reader, issues, monkeypatch)


# --- the pages --------------------------------------------------------------------------------


def _subscribe_errors(site: Site) -> TestResponse:
    return site.visitor().post("/subscribe", data={"email": "not an address", "topics": []})


def _subscribe_thanks(site: Site) -> TestResponse:
    topic = site.topics["trafficking"]
    return site.visitor().post("/subscribe", data={"email": "new@example.com", "topics": topic.id})


def _subscribe_from_other_site(site: Site) -> TestResponse:
    headers = {"Origin": "https://elsewhere.example"}
    return site.visitor().post("/subscribe", data={"email": "x@example.com"}, headers=headers)


def _confirmed(site: Site) -> TestResponse:
    return site.post_with_csrf(f"/confirm/{site.token(Purpose.CONFIRM, site.pending().id)}")


def _confirmed_blocked(site: Site) -> TestResponse:
    reader = site.pending()
    suppress(site.session, reader.email, SuppressionReason.BOUNCE, source="test")
    site.session.commit()
    return site.post_with_csrf(f"/confirm/{site.token(Purpose.CONFIRM, reader.id)}")


def _confirm_without_csrf(site: Site) -> TestResponse:
    return site.visitor().post(f"/confirm/{site.token(Purpose.CONFIRM, site.pending().id)}")


def _preferences_saved(site: Site) -> TestResponse:
    topics = [str(site.topics["trafficking"].id), str(site.topics["foster"].id)]
    return site.post_with_csrf(
        f"/preferences/{site.token(Purpose.PREFERENCES)}",
        action="save", topics=topics, language="es", timezone="America/Chicago",
    )  # fmt: skip


def _preferences_error(site: Site) -> TestResponse:
    return site.post_with_csrf(
        f"/preferences/{site.token(Purpose.PREFERENCES)}", action="save", timezone="Mars/Olympus"
    )


def _preferences_left(site: Site) -> TestResponse:
    return site.post_with_csrf(f"/preferences/{site.token(Purpose.PREFERENCES)}", action="leave")


def _unsubscribed(site: Site) -> TestResponse:
    path = f"/unsubscribe/{site.token(Purpose.UNSUBSCRIBE)}"
    return site.visitor().post(path, data={"confirm": "1"})


def _unsubscribed_unknown_reader(site: Site) -> TestResponse:
    path = f"/unsubscribe/{site.token(Purpose.UNSUBSCRIBE, 999_999)}"
    return site.visitor().post(path, data={"confirm": "1"})


def _webview(site: Site, *, personal: bool = False) -> TestResponse:
    token = f"?t={site.token(Purpose.WEBVIEW)}" if personal else ""
    return site.visitor().get(f"/view/{site.issues['middle'].slug}{token}")


def _archive_second_page(site: Site) -> TestResponse:
    site.monkeypatch.setattr(archive_service, "PAGE_SIZE", 1)
    return site.visitor().get("/archive?topic=&year=&page=2")


def _sign_in_code(site: Site) -> TestResponse:
    user = make_staff_user(site.session, role="editor")
    two_factor.begin_enrolment(site.session, user)
    assert user.totp_secret is not None
    two_factor.confirm_enrolment(site.session, user, pyotp.TOTP(user.totp_secret).now())
    site.session.commit()
    client = site.visitor()
    csrf = csrf_token_from(client.get("/admin/login").get_data(as_text=True))
    client.post(
        "/admin/login", data={"email": user.email, "password": PASSWORD, "csrf_token": csrf}
    )
    return client.get("/admin/login/code")


def _staff_invite(site: Site) -> TestResponse:
    user: StaffUser = invite_user(
        site.session, email="ana@agency.example.org", role="editor", name="Ana Ruiz"
    )
    site.session.commit()
    return site.visitor().get(f"/admin/invite/{invite_token(site.settings.SECRET_KEY, user)}")


def _get(path: str | Callable[[Site], str]) -> Callable[[Site], TestResponse]:
    return lambda site: site.visitor().get(path if isinstance(path, str) else path(site))


#: name → (endpoint, status, request): each variant of each page a visitor can reach.
PAGES: dict[str, tuple[str, int, Callable[[Site], TestResponse]]] = {
    "subscribe": ("public.subscribe_form", 200, _get("/subscribe")),
    "subscribe, errors": ("public.subscribe_submit", 422, _subscribe_errors),
    "subscribe, thank you": ("public.subscribe_submit", 200, _subscribe_thanks),
    "subscribe, from another site": ("public.subscribe_submit", 403, _subscribe_from_other_site),
    "confirm": (
        "public.confirm_page", 200,
        _get(lambda site: f"/confirm/{site.token(Purpose.CONFIRM, site.pending().id)}"),
    ),
    "confirm, done": ("public.confirm_submit", 200, _confirmed),
    "confirm, address blocked": ("public.confirm_submit", 200, _confirmed_blocked),
    "confirm, bad link": ("public.confirm_page", 400, _get("/confirm/not-a-token")),
    "confirm, form expired": ("public.confirm_submit", 400, _confirm_without_csrf),
    "preferences": (
        "public.preferences", 200,
        _get(lambda site: f"/preferences/{site.token(Purpose.PREFERENCES)}"),
    ),
    "preferences, saved": ("public.preferences", 200, _preferences_saved),
    "preferences, error": ("public.preferences", 422, _preferences_error),
    "preferences, left": ("public.preferences", 200, _preferences_left),
    "unsubscribe": (
        "public.unsubscribe_page", 200,
        _get(lambda site: f"/unsubscribe/{site.token(Purpose.UNSUBSCRIBE)}"),
    ),
    "unsubscribe, done": ("public.unsubscribe_submit", 200, _unsubscribed),
    "unsubscribe, unknown reader": ("public.unsubscribe_submit", 200, _unsubscribed_unknown_reader),
    "web view": ("archive.webview", 200, _webview),
    "web view, personal": ("archive.webview", 200, lambda site: _webview(site, personal=True)),
    "web view, newest": (
        "archive.webview", 200, _get(lambda site: f"/view/{site.issues['new'].slug}")
    ),
    "web view, unknown issue": ("archive.webview", 404, _get("/view/no-such-issue")),
    "archive": ("archive.index", 200, _get("/archive")),
    "archive, filtered": (
        "archive.index", 200, _get("/archive?q=youth&topic=human-trafficking&year=2026")
    ),
    "archive, observance": ("archive.index", 200, _get(f"/archive?observance={OBSERVANCE}")),
    "archive, no result": ("archive.index", 200, _get("/archive?q=no+such+title&year=1999")),
    "archive, second page": ("archive.index", 200, _archive_second_page),
    "not found": ("", 404, _get("/no-such-page")),
    "staff sign-in": ("auth.login", 200, _get("/admin/login")),
    "staff sign-in, code": ("auth.second_factor", 200, _sign_in_code),
    "staff invitation": ("staff_invite.accept", 200, _staff_invite),
    "API docs": ("api_docs.index", 200, _get("/api/v1/docs")),
}  # fmt: skip

#: Public routes that answer something other than an HTML page (or, for the framed email, email
#: HTML: see the module's docstring).
NOT_PAGES = {
    "archive.feed",
    "archive.topic_feed",
    "archive.language_feed",
    "archive.webview_email",
    "calendar_feed.feed",
    "favicon",
    "healthz",
    "home",
    "metrics",
    "media.serve",
    "static",
    "tracking.click",
    "tracking.pixel",
    "webhooks.dsn",
    "webhooks.sendgrid",
    "api_docs.asset",
}


@pytest.fixture(scope="module")
def nu() -> Iterator[Callable[[str], list[str]]]:
    with page_checker(require_nu=True) as check:
        yield check


@pytest.mark.parametrize("name", PAGES)
def test_public_page_is_valid_html(site: Site, nu: Callable[[str], list[str]], name: str) -> None:
    _, status, visit = PAGES[name]
    response = visit(site)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "text/html"
    assert nu(response.get_data(as_text=True)) == []


def test_every_public_page_is_checked(app: Flask) -> None:
    # Staff pages (/admin) and the API need a sign-in, except the sign-in pages checked above.
    public = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if not rule.rule.startswith(("/admin", "/api/"))
    }
    checked = {endpoint for endpoint, _, _ in PAGES.values()}
    assert public - NOT_PAGES <= checked


def test_time_elements_carry_whole_seconds_in_utc(site: Site) -> None:
    archive = site.visitor().get("/archive").get_data(as_text=True)
    assert '<time datetime="2026-01-05T15:00:00Z">January 5, 2026</time>' in archive
    webview = _webview(site).get_data(as_text=True)
    assert 'content="2026-01-05T15:00:00Z"' in webview
    assert "Subscribe to get issues like this" in webview
