"""The staff navigation in Chromium: one row of chrome at 1280 px, a keyboard menu at 375 px."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from campaigns.demo.content import SPOTLIGHT_ISSUE
from campaigns.issues.service import create_issue
from tests.browser.conftest import serious_violations, signed_in_page
from tests.factories import make_user

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

#: Whether any of the elements wraps onto a second line or overflows its box.
WRAPPED = """(selector) => [...document.querySelectorAll(selector)].filter(
  (el) => el.getClientRects().length > 1 || el.scrollWidth > el.clientWidth + 1
).map((el) => el.textContent.trim())"""


def test_wide_screens_show_every_link_unwrapped(
    new_page: Callable[..., Any], live_url: str, session: Session
) -> None:
    admin = make_user(
        session, role="admin", email="an.administrator.with.a.long.name@agency.example.org"
    )
    session.commit()
    page = signed_in_page(new_page, live_url, admin.email, 1280)
    nav = page.get_by_role("navigation", name="Staff")
    expect(nav).to_be_visible()
    expect(page.locator(".nav-toggle")).to_be_hidden()
    assert page.evaluate(WRAPPED, ".staff-nav a, .staff-nav, .admin-header > *") == []
    # The header is one row: brand, address, "Your account" and "Sign out" side by side.
    tops = page.evaluate(
        "() => [...document.querySelectorAll('.brand, .who, .signout > a, .signout > button')]"
        ".map((el) => Math.round(el.getBoundingClientRect().top + el.offsetHeight / 2))"
    )
    assert max(tops) - min(tops) <= 4, tops
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280
    nav.get_by_role("link", name="Staff").click()
    expect(nav.get_by_role("link", name="Staff")).to_have_attribute("aria-current", "page")
    assert serious_violations(page) == []


def test_narrow_screens_fold_the_links_behind_a_keyboard_menu(
    new_page: Callable[..., Any], live_url: str, session: Session
) -> None:
    editor = make_user(session, role="editor", email="ed@agency.example.org")
    session.commit()
    page = signed_in_page(new_page, live_url, editor.email, 375)
    toggle = page.get_by_role("button", name="Menu")
    links = page.locator("#staff-nav")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(links).to_be_hidden()
    expect(page.get_by_role("link", name="Your account")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375

    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(links).to_be_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Dashboard"
    assert page.locator("#staff-nav a", has_text="Staff").count() == 0  # admins only
    assert serious_violations(page) == []
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    expect(links).to_be_hidden()

    page.keyboard.press("Space")
    expect(links).to_be_visible()
    links.get_by_role("link", name="Subscribers").click()
    expect(page).to_have_url(re.compile(r"/admin/subscribers/$"))
    expect(links).to_be_hidden()  # each page starts with the menu folded


def test_the_editor_keeps_the_whole_width_and_folds_its_links(
    new_page: Callable[..., Any], live_url: str, session: Session
) -> None:
    editor = make_user(session, role="editor", email="ed@agency.example.org")
    issue = create_issue(session, {**SPOTLIGHT_ISSUE, "title": "Spotlight"})
    session.commit()
    page = signed_in_page(new_page, live_url, editor.email, 1280)
    page.goto(f"{live_url}/admin/issues/{issue.id}/edit")
    expect(page.locator("body[data-editor-ready]")).to_have_count(1)
    toggle = page.get_by_role("button", name="Menu")
    expect(toggle).to_be_visible()
    expect(page.locator("#staff-nav")).to_be_hidden()
    assert page.locator("main").bounding_box()["x"] < 100
    toggle.click()
    expect(page.locator("#staff-nav").get_by_role("link", name="Issues")).to_be_visible()
