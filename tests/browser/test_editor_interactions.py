"""Editor behaviour in Chromium: tabs conflict instead of overwriting; keyboard and drag reorder."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue
from campaigns.issues.service import create_issue
from tests.browser.test_editor_workflow import sign_in, wait_saved
from tests.campaigns.issues.issue_data import basic
from tests.factories import make_user

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture
def editing(app: Flask, live_url: str, new_page: Callable[..., Any], session: Session) -> tuple:
    user = make_user(session, "editor")
    content = basic()
    content["blocks"].append({"id": "third", "type": "heading", "text": "Third block"})
    issue = create_issue(session, content, author_id=user.id)
    session.commit()
    page = new_page()
    sign_in(page, live_url, user.email)
    url = f"{live_url}/admin/issues/{issue.id}/edit"
    return page, url, issue.id


def order(page: Any) -> list[str]:
    return page.locator("#blocks > li").evaluate_all("cards => cards.map(c => c.dataset.blockId)")


def test_two_tabs_conflict_instead_of_overwriting(editing: tuple, session: Session) -> None:
    first, url, issue_id = editing
    second = first.context.new_page()
    for page in (first, second):
        page.goto(url)
        expect(page.locator("body[data-editor-ready]")).to_have_count(1)
    first.get_by_label("Title", exact=True).fill("Title from tab one")
    wait_saved(first)
    second.get_by_label("Title", exact=True).fill("Title from tab two")
    conflict = second.get_by_role("alertdialog")
    expect(conflict).to_be_visible(timeout=20_000)
    expect(conflict).to_contain_text("saved by someone else")
    expect(conflict.locator("ins")).to_contain_text("Title from tab two")
    expect(second.locator("#save-status")).to_contain_text("Not saved")
    second.get_by_role("button", name="Keep mine as a new revision").click()
    wait_saved(second)
    expect(second.locator("#issue-revision")).to_have_text("3")
    first.get_by_label("Kicker").fill("Kicker from tab one")
    expect(first.get_by_role("alertdialog")).to_be_visible(timeout=20_000)
    first.get_by_role("button", name=re.compile("Reload their version")).click()
    expect(first.get_by_label("Title", exact=True)).to_have_value("Title from tab two")
    expect(first.get_by_label("Kicker")).to_have_value("")
    session.expire_all()
    assert session.get(Issue, issue_id).title == "Title from tab two"
    session.rollback()


def test_reorder_with_keyboard_buttons_and_drag(editing: tuple) -> None:
    page, url, _issue_id = editing
    page.goto(url)
    expect(page.locator("body[data-editor-ready]")).to_have_count(1)
    assert order(page) == ["intro", "more", "third"]
    page.locator('[data-block-id="more"]').get_by_label("Paragraph text", exact=True).focus()
    page.keyboard.press("Alt+ArrowUp")
    assert order(page) == ["more", "intro", "third"]
    expect(
        page.locator('[data-block-id="more"]').get_by_label("Paragraph text", exact=True)
    ).to_be_focused()
    expect(page.locator("#move-status")).to_contain_text("moved to position 1 of 3")
    page.get_by_role("button", name="Move down heading 3").is_disabled()
    page.get_by_role("button", name="Move up heading 3").click()
    assert order(page) == ["more", "third", "intro"]
    # Synthetic drag events: headless Chromium does not run a native drag session.
    transfer = page.evaluate_handle("() => new DataTransfer()")
    page.locator('[data-block-id="intro"] .drag-handle').dispatch_event(
        "dragstart", {"dataTransfer": transfer}
    )
    target = page.locator('[data-block-id="more"]')
    target.dispatch_event("dragover", {"dataTransfer": transfer})
    target.dispatch_event("drop", {"dataTransfer": transfer})
    assert order(page) == ["intro", "more", "third"]
    page.get_by_role("button", name="Duplicate heading 3").click()
    page.get_by_role("button", name="Delete paragraph 1").click()
    assert order(page) == ["more", "third", "heading-1"]
    wait_saved(page)


def test_leaving_with_unsaved_changes_asks_first(editing: tuple) -> None:
    page, url, _issue_id = editing
    page.goto(url)
    expect(page.locator("body[data-editor-ready]")).to_have_count(1)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    page.get_by_label("Title", exact=True).fill("Not saved yet")
    page.close(run_before_unload=True)
    page.wait_for_timeout(300)
    assert dialogs == ["beforeunload"]
