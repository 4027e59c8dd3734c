"""The settings page in Chromium: WCAG 2.1 AA at desktop and phone widths, errors included."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.browser.conftest import signed_in_page, wcag_violations
from tests.engine.test_org_settings import png
from tests.factories import make_user

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


@pytest.mark.parametrize("width", [1280, 375])
def test_the_settings_page_passes_wcag_aa_with_and_without_errors(
    new_page: Callable[..., Any], live_url: str, session: Session, width: int, tmp_path: Path
) -> None:
    admin = make_user(session, role="admin", email="boss@agency.example.org")
    session.commit()
    page = signed_in_page(new_page, live_url, admin.email, width)
    if width < 960:
        page.get_by_role("button", name="Menu").click()
    page.get_by_role("navigation", name="Staff").get_by_role("link", name="Settings").click()
    expect(page).to_have_url(re.compile(r"/admin/settings/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings")
    assert wcag_violations(page) == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width

    page.get_by_label("Brand colour").fill("#ffcc00")
    page.get_by_label("Organisation name").fill("Children's Bureau")
    page.get_by_role("button", name="Save settings").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("WCAG AA needs at least 4.5:1")
    expect(page.get_by_label("Brand colour")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Organisation name")).to_have_value("Children's Bureau")
    assert wcag_violations(page) == []

    logo = tmp_path / "logo.png"
    logo.write_bytes(png(480, 160))
    page.get_by_label("Brand colour").fill("#6a1b9a")
    page.get_by_label("Logo", exact=True).set_input_files(str(logo))
    page.get_by_label("Logo alt text").fill("Children's Bureau")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved")
    expect(page.get_by_role("img", name="Children's Bureau")).to_be_visible()
    assert wcag_violations(page) == []

    page.goto(f"{live_url}/subscribe")
    expect(page).to_have_title("Subscribe · Children's Bureau")
    expect(page.get_by_role("link", name="Children's Bureau")).to_be_visible()
    assert wcag_violations(page) == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width


def test_saved_colours_leave_dark_mode_legible(
    new_page: Callable[..., Any], live_url: str, session: Session
) -> None:
    admin = make_user(session, role="admin", email="boss@agency.example.org")
    session.commit()
    page = signed_in_page(new_page, live_url, admin.email, 1280)
    page.goto(f"{live_url}/admin/settings/")
    page.get_by_label("Brand colour").fill("#4a148c")
    page.get_by_label("Link colour").fill("#1b5e20")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved")
    for scheme in ("light", "dark"):
        visitor = new_page(viewport={"width": 375, "height": 900}, bypass_csp=True)
        visitor.emulate_media(color_scheme=scheme)
        visitor.goto(f"{live_url}/subscribe")
        link = visitor.get_by_role("link", name="Archive")
        colour = link.evaluate("(a) => getComputedStyle(a).color")
        assert (colour == "rgb(27, 94, 32)") == (scheme == "light"), (scheme, colour)
        assert wcag_violations(visitor) == [], scheme
