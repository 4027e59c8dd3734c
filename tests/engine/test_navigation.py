"""The staff navigation, the start page, error pages and the favicon."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from campaigns.demo.content import SPOTLIGHT_ISSUE
from campaigns.issues.models import Issue, IssueStatus
from campaigns.issues.service import create_issue
from campaigns.sending.models import Campaign, CampaignStatus
from engine.users import Role
from engine.web import NavGroup, add_admin_nav
from tests.factories import login, make_user
from tests.html_validator import html_errors

NAV = re.compile(r'<nav class="staff-nav".*?</nav>', re.S)
GROUP = re.compile(r'<p class="nav-group-name"[^>]*>([^<]+)</p>\s*<ul[^>]*>(.*?)</ul>', re.S)
LINK = re.compile(r"<a [^>]*>([^<]+)</a>")


def _signed_in(app: Flask, session: Session, role: str) -> FlaskClient:
    user = make_user(session, role=role)
    session.commit()
    g.pop("csrf_token", None)
    client = app.test_client()
    login(client, user)
    return client


def _groups(page: str) -> dict[str, list[str]]:
    nav = NAV.search(page)
    assert nav is not None, "no staff navigation on the page"
    return {name: LINK.findall(links) for name, links in GROUP.findall(nav.group(0))}


def test_admins_see_every_group_in_order(app: Flask, session: Session) -> None:
    page = _signed_in(app, session, "admin").get("/admin/").get_data(as_text=True)
    assert _groups(page) == {
        "Content": [
            "Dashboard",
            "Issues",
            "Campaigns",
            "Calendar",
            "Observances",
            "Feeds",
            "Welcome email",
        ],
        "Audience": ["Subscribers", "Topics", "Imports", "Suppressions"],
        "Insights": ["Reports", "Digests"],
        "Administration": ["Staff", "Settings", "API tokens", "Audit log", "Outbox"],
    }
    assert list(_groups(page)) == [group.value for group in NavGroup]


def test_editors_see_no_admin_only_links(app: Flask, session: Session) -> None:
    groups = _groups(_signed_in(app, session, "editor").get("/admin/").get_data(as_text=True))
    assert groups["Administration"] == ["API tokens", "Audit log", "Outbox"]
    assert "Campaigns" in groups["Content"] and "Imports" in groups["Audience"]


def test_approvers_see_only_the_pages_their_role_opens(app: Flask, session: Session) -> None:
    client = _signed_in(app, session, "approver")
    groups = _groups(client.get("/admin/").get_data(as_text=True))
    assert groups["Content"] == ["Dashboard", "Issues", "Calendar", "Observances"]
    assert groups["Audience"] == ["Subscribers", "Topics", "Suppressions"]
    for path in ("/admin/campaigns/", "/admin/subscribers/import/", "/admin/users/"):
        assert client.get(path).status_code == 403, path


def test_every_link_shown_opens_for_that_role(app: Flask, session: Session) -> None:
    for role in ("editor", "approver"):
        client = _signed_in(app, session, role)
        nav = NAV.search(client.get("/admin/").get_data(as_text=True))
        assert nav is not None
        for path in re.findall(r'href="([^"]+)"', nav.group(0)):
            assert client.get(path).status_code == 200, (role, path)


def test_the_current_page_and_its_section_are_marked(app: Flask, session: Session) -> None:
    client = _signed_in(app, session, "admin")
    page = client.get("/admin/issues/").get_data(as_text=True)
    assert 'aria-current="page">Issues</a>' in page
    assert page.count('aria-current="page"') == 1
    report = client.get("/admin/reports").get_data(as_text=True)
    assert 'aria-current="page">Reports</a>' in report


def test_the_menu_button_waits_for_its_script(app: Flask, session: Session) -> None:
    page = _signed_in(app, session, "editor").get("/admin/").get_data(as_text=True)
    # Without JavaScript the button stays hidden and the links stay shown.
    toggle = '<button type="button" class="nav-toggle secondary" aria-controls="staff-nav" hidden>'
    assert toggle in page
    assert 'id="staff-nav"' in page
    assert '<script type="module" src="/static/js/nav.js' in page
    assert "Your account</a>" in page and "Sign out</button>" in page


def test_links_need_a_known_group() -> None:
    with pytest.raises(ValueError):
        add_admin_nav(Flask(__name__), "x.index", "X", group="Elsewhere")


def test_a_link_names_the_roles_that_may_follow_it(app: Flask) -> None:
    links = {link.endpoint: link for link in app.extensions["pinwheel.admin_nav"]}
    assert links["users.index"].roles == (Role.ADMIN,)
    assert links["tokens.index"].roles == ()


def test_the_start_page_sends_visitors_to_the_archive(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/archive"


def test_the_start_page_sends_staff_to_the_dashboard(app: Flask, session: Session) -> None:
    response = _signed_in(app, session, "approver").get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"


def test_not_found_has_the_public_header_for_visitors(client: FlaskClient, tmp_path: Path) -> None:
    response = client.get("/no-such-page")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert '<nav aria-label="Site">' in page and 'href="/subscribe">Subscribe</a>' in page
    assert 'class="staff-nav"' not in page
    assert 'href="/">Go to the start page</a>' in page
    assert html_errors({"404": page}, tmp_path) == []


def test_error_pages_have_the_staff_navigation_for_staff(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    client = _signed_in(app, session, "editor")
    missing = client.get("/admin/issues/999999/preview")
    refused = client.get("/admin/users/")
    assert (missing.status_code, refused.status_code) == (404, 403)
    pages = {"404": missing.get_data(as_text=True), "403": refused.get_data(as_text=True)}
    for page in pages.values():
        assert _groups(page)["Content"][0] == "Dashboard"
        assert "Go to the dashboard</a>" in page
    assert html_errors(pages, tmp_path) == []


def test_the_favicon_is_an_svg_pinwheel(client: FlaskClient) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).lstrip().startswith("<svg")
    assert client.get("/static/favicon.svg").status_code == 200


def test_both_chromes_link_the_favicon(app: Flask, session: Session, client: FlaskClient) -> None:
    link = '<link rel="icon" href="/static/favicon.svg'
    assert link in client.get("/subscribe").get_data(as_text=True)
    assert link in _signed_in(app, session, "editor").get("/admin/").get_data(as_text=True)


def test_statuses_read_as_words(app: Flask, session: Session, tmp_path: Path) -> None:
    issue: Issue = create_issue(session, {**SPOTLIGHT_ISSUE, "title": "Spotlight"})
    issue.status = IssueStatus.IN_REVIEW
    session.add(Campaign(issue_id=issue.id, issue_revision=1, name="January send",
                         status=CampaignStatus.NEEDS_REVIEW, subject="Spotlight",
                         from_address="news@example.org"))  # fmt: skip
    session.commit()
    client = _signed_in(app, session, "admin")
    issues = client.get("/admin/issues/").get_data(as_text=True)
    campaigns = client.get("/admin/campaigns/").get_data(as_text=True)
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert '<span class="status">In review</span>' in issues
    assert '<span class="status">Needs review</span>' in campaigns
    assert '<span class="status">Needs review</span>' in dashboard
    for page in (issues, campaigns, dashboard):
        assert "in_review" not in page.replace('value="in_review"', "")
        assert ">needs_review<" not in page
    errors = html_errors(
        {"issues": issues, "campaigns": campaigns, "dashboard": dashboard}, tmp_path
    )
    assert errors == []


def test_times_are_local_with_the_zone_named(app: Flask, session: Session) -> None:
    client = _signed_in(app, session, "admin")
    page = client.get("/admin/users/").get_data(as_text=True)
    # The staff list shows each last sign-in: the admin's own, moments ago, in New York time.
    assert re.search(
        r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">\w{3} \d{1,2}, \d{4}, \d\d:\d\d E[SD]T'
        r"</time>",
        page,
    )
    assert "(UTC)" not in page
