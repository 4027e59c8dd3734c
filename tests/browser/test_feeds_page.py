"""The feeds page in Chromium: add a feed, check it, remove it; WCAG 2.1 AA at two widths."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from engine.config import Settings
from tests.browser.conftest import signed_in_page, wcag_violations
from tests.campaigns.feeds.conftest import (  # noqa: F401  (fixture)
    LOOPBACK,
    FeedServer,
    feed_server,
    rss,
)
from tests.factories import make_topic, make_user

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture
def settings(settings: Settings, database_url: str) -> Settings:
    """The live server's settings, letting feeds be read from 127.0.0.1."""
    return settings.with_overrides(FEED_ALLOWED_HOSTS=LOOPBACK)


@pytest.mark.parametrize("width", [1280, 375])
def test_the_feeds_page_adds_checks_and_removes_a_feed(
    new_page: Callable[..., Any],
    live_url: str,
    session: Session,
    feed_server: FeedServer,  # noqa: F811
    width: int,
) -> None:
    editor = make_user(session, role="editor", email="ed@agency.example.org")
    make_topic(session, slug="foster-care", name="Foster care")
    session.commit()
    url = feed_server.serve(body=rss([2, 1]))
    page = signed_in_page(new_page, live_url, editor.email, width)
    if width < 960:
        page.get_by_role("button", name="Menu").click()
    page.get_by_role("navigation", name="Staff").get_by_role("link", name="Feeds").click()
    expect(page).to_have_url(re.compile(r"/admin/feeds/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Feeds")
    assert wcag_violations(page) == []

    page.get_by_label("Feed address (RSS or Atom)").fill(url)
    page.get_by_label("Topic its drafts are for").select_option("foster-care")
    page.get_by_role("button", name="Watch this feed").click()
    expect(page.get_by_role("status")).to_contain_text("First check: recorded the 2 items")
    expect(page.get_by_role("cell", name="Watching")).to_be_visible()
    assert wcag_violations(page) == []

    feed_server.serve(body=rss([3, 2, 1]))
    page.get_by_role("button", name="Check now Agency News").click()
    expect(page.get_by_role("status")).to_contain_text("1 new item made a draft issue")
    expect(page.get_by_role("link", name="Latest draft from Agency News")).to_be_visible()
    assert wcag_violations(page) == []

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove Agency News").click()
    expect(page.get_by_role("status")).to_contain_text("Stopped watching Agency News")
    expect(page.get_by_text("No feeds are watched yet.")).to_be_visible()
    assert wcag_violations(page) == []


@pytest.mark.parametrize("width", [1280, 375])
def test_a_refused_address_is_an_accessible_error(
    new_page: Callable[..., Any], live_url: str, session: Session, width: int
) -> None:
    editor = make_user(session, role="editor", email="ed@agency.example.org")
    make_topic(session, slug="foster-care", name="Foster care")
    session.commit()
    page = signed_in_page(new_page, live_url, editor.email, width)
    page.goto(f"{live_url}/admin/feeds/")
    page.get_by_label("Feed address (RSS or Atom)").fill("http://10.0.0.1/feed.xml")
    page.get_by_role("button", name="Watch this feed").click()

    expect(page).to_have_title(re.compile(r"^Error: Feeds"))
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("10.0.0.1 is a private, loopback or reserved address")
    expect(summary).to_be_focused()
    address = page.get_by_label("Feed address (RSS or Atom)")
    expect(address).to_have_attribute("aria-invalid", "true")
    expect(address).to_have_accessible_description(re.compile("^Error: 10.0.0.1 is a private"))
    expect(address).to_have_value("http://10.0.0.1/feed.xml")
    assert wcag_violations(page) == []
