"""Editor behaviour in Chromium: drafts, placing blocks and marks, the keyboard, revisions, WCAG."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue, IssueRevision
from campaigns.issues.service import create_issue
from tests.browser.conftest import wcag_violations
from tests.browser.test_editor_workflow import add_block, block, sign_in, wait_saved
from tests.campaigns.issues.issue_data import basic
from tests.factories import make_user

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


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


def open_editor(page: Any, url: str) -> None:
    page.goto(url)
    expect(page.locator("body[data-editor-ready]")).to_have_count(1)


def revision_numbers(session: Session, issue_id: int) -> list[int]:
    session.expire_all()
    numbers = session.scalars(
        sa.select(IssueRevision.number)
        .where(IssueRevision.issue_id == issue_id)
        .order_by(IssueRevision.number)
    ).all()
    session.rollback()
    return list(numbers)


def test_an_unfinished_block_saves_shows_what_it_needs_and_blocks_review(
    editing: tuple, session: Session
) -> None:
    page, url, issue_id = editing
    open_editor(page, url)
    add_block(page, "bullets")
    wait_saved(page)
    expect(page.locator("#save-status")).to_contain_text("1 thing to finish before review")
    card = block(page, "bullets-1")
    problems = card.locator(".block-problems")
    expect(problems).to_have_text("To fix: Item 1 has no text yet.")
    expect(problems).not_to_contain_text("items[0]")
    item = card.get_by_label("Item 1 text", exact=True)
    expect(item).to_have_attribute("aria-invalid", "true")
    expect(item).to_have_accessible_description(re.compile("Item 1 has no text yet"))
    expect(page.get_by_role("button", name="Request review")).to_be_disabled()
    expect(page.locator("#submit-hint")).to_contain_text("Fix the problems marked on the blocks")
    session.expire_all()
    stored = session.get(Issue, issue_id)
    assert stored.content["blocks"][-1]["items"] == [{"text": "", "refs": []}]
    session.rollback()
    # The server refuses the request too, whatever the page's button says.
    page.evaluate("document.querySelector('#submit-form').submit()")
    expect(page.locator("main")).to_contain_text("Item 1 has no text yet.")
    session.expire_all()
    assert session.get(Issue, issue_id).status == "draft"
    session.rollback()
    open_editor(page, url)
    block(page, "bullets-1").get_by_label("Item 1 text", exact=True).fill("Now it has text.")
    wait_saved(page)
    expect(block(page, "bullets-1").locator(".block-problems")).to_be_hidden()
    expect(page.get_by_role("button", name="Request review")).to_be_enabled(timeout=20_000)


def test_a_block_goes_where_it_is_asked_to(editing: tuple) -> None:
    page, url, _issue_id = editing
    open_editor(page, url)
    where = page.get_by_label("Where")
    expect(where).to_have_value("3")
    expect(where.locator("option")).to_have_text(
        ["At the start", "After block 1 (Paragraph)", "After block 2 (Paragraph)",
         "At the end, after block 3 (Heading)"]
    )  # fmt: skip
    page.get_by_label("Block type").select_option("heading")
    where.select_option(label="After block 1 (Paragraph)")
    page.get_by_role("button", name="Add block").click()
    assert order(page) == ["intro", "heading-1", "more", "third"]
    expect(block(page, "heading-1").get_by_label("Heading text")).to_be_focused()
    expect(page.locator("#move-status")).to_have_text("Heading added at position 2 of 4.")
    page.get_by_label("Block type").select_option("quote")
    page.get_by_role("button", name="Add block").click()
    assert order(page) == ["intro", "heading-1", "quote-1", "more", "third"]
    where.select_option(label="At the start")
    page.get_by_role("button", name="Add block").click()
    assert order(page) == ["quote-2", "intro", "heading-1", "quote-1", "more", "third"]
    wait_saved(page)


def test_the_link_button_asks_for_the_address(editing: tuple) -> None:
    page, url, _issue_id = editing
    open_editor(page, url)
    answers = iter(["example.org/guide", None, "mailto:news@example.org"])
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        reply = next(answers)
        dialog.dismiss() if reply is None else dialog.accept(reply)

    page.on("dialog", answer)
    area = block(page, "intro").get_by_label("Paragraph text", exact=True)
    area.fill("Read the guide today.")
    area.evaluate("a => a.setSelectionRange(9, 14)")
    block(page, "intro").get_by_role("button", name="Link").click()
    expect(area).to_have_value("Read the [guide](https://example.org/guide) today.")
    block(page, "intro").get_by_role("button", name="Link").click()
    expect(area).to_have_value("Read the [guide](https://example.org/guide) today.")
    area.evaluate("a => a.setSelectionRange(a.value.length, a.value.length)")
    block(page, "intro").get_by_role("button", name="Link").click()
    expect(area).to_have_value(
        "Read the [guide](https://example.org/guide) today.[link text](mailto:news@example.org)"
    )
    assert area.evaluate("a => a.value.slice(a.selectionStart, a.selectionEnd)") == "link text"
    assert asked == ["Link address (https://…)"] * 3
    wait_saved(page)


def test_add_move_and_delete_blocks_with_the_keyboard_alone(editing: tuple) -> None:
    page, url, _issue_id = editing
    open_editor(page, url)
    keys = page.keyboard
    # Only the first focus is placed; everything after it is keys.
    page.get_by_label("Block type").focus()
    keys.press("q")  # Quote
    expect(page.get_by_label("Block type")).to_have_value("quote")
    keys.press("Tab")
    keys.press("Home")  # Where: at the start
    expect(page.get_by_label("Where")).to_have_value("0")
    keys.press("Tab")
    expect(page.get_by_role("button", name="Add block")).to_be_focused()
    keys.press("Enter")
    assert order(page) == ["quote-1", "intro", "more", "third"]
    expect(block(page, "quote-1").get_by_label("Quotation")).to_be_focused()
    keys.type("Families are the experts.")
    keys.press("Alt+ArrowDown")
    assert order(page) == ["intro", "quote-1", "more", "third"]
    expect(block(page, "quote-1").get_by_label("Quotation")).to_be_focused()
    keys.press("Shift+Tab")  # from the first field back to the block's last tool
    expect(page.get_by_role("button", name="Delete quote 2")).to_be_focused()
    keys.press("Shift+Tab")
    keys.press("Shift+Tab")
    expect(page.get_by_role("button", name="Move down quote 2")).to_be_focused()
    keys.press("Enter")
    assert order(page) == ["intro", "more", "quote-1", "third"]
    expect(page.get_by_role("button", name="Move down quote 3")).to_be_focused()
    keys.press("Enter")
    assert order(page) == ["intro", "more", "third", "quote-1"]
    # At the bottom, focus stays on the block's other move button.
    expect(page.get_by_role("button", name="Move up quote 4")).to_be_focused()
    keys.press("Tab")
    keys.press("Tab")
    expect(page.get_by_role("button", name="Delete quote 4")).to_be_focused()
    keys.press("Enter")
    assert order(page) == ["intro", "more", "third"]
    expect(page.locator("#move-status")).to_have_text("Quote 4 deleted.")
    expect(block(page, "third")).to_be_focused()
    wait_saved(page)


def test_three_autosaved_edits_make_one_revision(editing: tuple, session: Session) -> None:
    page, url, issue_id = editing
    open_editor(page, url)
    for label, value in (("Kicker", "Spotlight On..."), ("Date label", "April 2027"),
                         ("Subject line", "Prevention Month: what works")):  # fmt: skip
        page.get_by_label(label, exact=True).fill(value)
        wait_saved(page)
    expect(page.locator("#issue-revision")).to_have_text("4")
    assert revision_numbers(session, issue_id) == [1, 4]
    page.get_by_role("link", name="Revision history").click()
    expect(page.get_by_role("button", name=re.compile("Restore revision"))).to_have_count(1)
    # A new page is a new editing session, and so a new revision.
    open_editor(page, url)
    page.get_by_label("Kicker").fill("Spotlight on...")
    wait_saved(page)
    assert revision_numbers(session, issue_id) == [1, 4, 5]


def test_footnotes_link_to_the_references_and_back(
    app: Flask, live_url: str, new_page: Callable[..., Any], session: Session
) -> None:
    user = make_user(session, "editor")
    content = basic()
    content["blocks"][0]["text"] = "Risk rises with isolation (and poverty)[^1]."
    content["blocks"].append(
        {"id": "notes", "type": "references", "items": [{"number": 1, "text": "A study, 2024."},
                                                        {"number": 2, "text": "A review, 2025."}]}
    )  # fmt: skip
    issue = create_issue(session, content, author_id=user.id)
    session.commit()
    page = new_page()
    sign_in(page, live_url, user.email)
    open_editor(page, f"{live_url}/admin/issues/{issue.id}/edit")
    page.on("dialog", lambda dialog: dialog.accept(dialog.default_value))
    area = block(page, "more").get_by_label("Paragraph text", exact=True)
    area.evaluate("a => a.setSelectionRange(6, 6)")  # after "Strong"
    block(page, "more").get_by_role("button", name="Footnote").click()
    expect(area).to_have_value("Strong[^2] families start with support.")
    wait_saved(page)
    frame = page.locator("#preview-frame")
    expect(frame).to_have_attribute("srcdoc", re.compile('id="cite-2"'))
    email = new_page()
    email.set_content(frame.get_attribute("srcdoc"))
    mark = email.locator("#cite-1")
    expect(mark).to_have_text("[1]")
    assert email.evaluate("document.querySelector('#cite-1').closest('p').textContent").endswith(
        "(and poverty)[1]."
    )
    mark.click()
    assert email.evaluate("location.hash") == "#ref-1"
    expect(email.locator("#ref-1")).to_be_in_viewport()
    back = email.locator("#ref-1").get_by_role("link", name="Back to where reference 1 is cited")
    back.click()
    assert email.evaluate("location.hash") == "#cite-1"
    email.locator("#cite-2").click()
    assert email.evaluate("location.hash") == "#ref-2"


def test_a_sent_issue_says_so(editing: tuple, session: Session) -> None:
    page, url, issue_id = editing
    issue = session.get(Issue, issue_id)
    issue.published_at = datetime(2027, 4, 2, 14, 0, tzinfo=UTC)
    session.commit()
    open_editor(page, url)
    notice = page.locator("#sent-notice")
    expect(notice).to_contain_text("This issue was sent")
    expect(notice).to_contain_text("2027")
    expect(page.locator(".editor-top")).to_contain_text("Sent")
    page.get_by_role("link", name="All issues").click()
    expect(page.get_by_role("row", name=re.compile("Prevention Month"))).to_contain_text("Sent")


@pytest.mark.parametrize("width", [1280, 375])
def test_the_editor_meets_wcag_21_aa(
    app: Flask,
    live_url: str,
    new_page: Callable[..., Any],
    session: Session,
    editing: tuple,
    width: int,
) -> None:
    page, url, issue_id = editing
    issue = session.get(Issue, issue_id)
    issue.published_at = datetime(2027, 4, 2, 14, 0, tzinfo=UTC)
    session.commit()
    audit = new_page(
        bypass_csp=True,
        storage_state=page.context.storage_state(),
        viewport={"width": width, "height": 900},
    )
    open_editor(audit, url)
    add_block(audit, "bullets")
    add_block(audit, "resources")
    expect(block(audit, "bullets-1").locator(".block-problems")).to_be_visible(timeout=20_000)
    expect(audit.locator("#checks .check").first).to_be_visible()
    assert wcag_violations(audit) == []
    if width < 600:
        assert audit.evaluate("document.documentElement.scrollWidth") <= width
