"""Pasting into the editor in Chromium: paragraphs, lists, resources and references, and themes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue
from tests.browser.editor_actions import PASTE
from tests.browser.test_editor_interactions import open_editor, order
from tests.browser.test_editor_workflow import add_block, block, wait_saved

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def paste(control: Any, text: str) -> None:
    control.evaluate(PASTE, text)


def saved_blocks(session: Session, issue_id: int) -> dict[str, dict[str, Any]]:
    session.expire_all()
    blocks = {b["id"]: b for b in session.get(Issue, issue_id).content["blocks"]}
    session.rollback()
    return blocks


def test_pasted_paragraphs_become_blocks_after_the_one_pasted_into(
    editing: tuple, session: Session
) -> None:
    page, url, issue_id = editing
    open_editor(page, url)
    area = block(page, "more").get_by_label("Paragraph text", exact=True)
    area.fill("")
    paste(area, "First paragraph.\r\n\r\nSecond one,\nwith a line break.\n\n\n  Third.  \n")
    assert order(page) == ["intro", "more", "paragraph-1", "paragraph-2", "third"]
    expect(block(page, "paragraph-2").get_by_label("Paragraph text", exact=True)).to_be_focused()
    expect(page.locator("#move-status")).to_have_text("3 paragraphs pasted: 2 blocks added.")
    wait_saved(page)
    blocks = saved_blocks(session, issue_id)
    assert [blocks[i]["text"] for i in ("more", "paragraph-1", "paragraph-2")] == [
        "First paragraph.",
        "Second one,\nwith a line break.",
        "Third.",
    ]


def test_one_line_pastes_as_the_browser_pastes(editing: tuple, session: Session) -> None:
    page, url, issue_id = editing
    open_editor(page, url)
    area = block(page, "more").get_by_label("Paragraph text", exact=True)
    area.fill("Before ")
    area.press("End")
    paste(area, "and after.")
    assert order(page) == ["intro", "more", "third"]
    wait_saved(page)
    assert saved_blocks(session, issue_id)["more"]["text"] == "Before and after."


def test_a_pasted_list_becomes_items(editing: tuple, session: Session) -> None:
    page, url, issue_id = editing
    open_editor(page, url)
    add_block(page, "bullets")
    paste(
        block(page, "bullets-1").get_by_label("Item 1 text", exact=True),
        "• Screen every youth at intake[^1].\n\n- Ask about housing.\n3. Refer early.",
    )
    card = block(page, "bullets-1")
    expect(card.get_by_label("Item 3 text", exact=True)).to_be_focused()
    expect(page.locator("#move-status")).to_have_text("3 rows pasted.")
    wait_saved(page)
    items = saved_blocks(session, issue_id)["bullets-1"]["items"]
    assert [item["text"] for item in items] == [
        "Screen every youth at intake[^1].",
        "Ask about housing.",
        "Refer early.",
    ]


def test_pasted_spreadsheet_rows_and_running_text_become_resources(
    editing: tuple, session: Session
) -> None:
    page, url, issue_id = editing
    open_editor(page, url)
    add_block(page, "resources")
    rows = [
        "Prevention Toolkit\thttps://resources.example.org/toolkit\tFor caseworkers.\ttoolkit\t",
        "Practice Brief https://resources.example.org/brief.pdf — a two-page summary (301 KB)",
        "National Hotline | https://resources.example.org/hotline | organization",
        "Training Module\thttps://resources.example.org/module\t\ttraining\t",
    ]
    paste(block(page, "resources-1").get_by_label("Resource 1 title"), "\n".join(rows))
    expect(block(page, "resources-1").get_by_label("Resource 4 title")).to_be_focused()
    wait_saved(page)
    items = saved_blocks(session, issue_id)["resources-1"]["items"]
    assert [(r["title"], r["url"], r.get("description", ""), r["kind"]) for r in items] == [
        ("Prevention Toolkit", "https://resources.example.org/toolkit", "For caseworkers.",
         "toolkit"),
        ("Practice Brief", "https://resources.example.org/brief.pdf",
         "a two-page summary (301 KB)", "pdf"),
        ("National Hotline", "https://resources.example.org/hotline", "", "organization"),
        ("Training Module", "https://resources.example.org/module", "", "training"),
    ]  # fmt: skip


def test_a_pasted_numbered_list_becomes_references(editing: tuple, session: Session) -> None:
    page, url, issue_id = editing
    open_editor(page, url)
    add_block(page, "references")
    paste(
        block(page, "references-1").get_by_label("Reference 1 text"),
        "[1] Smith, J. (2020). Trafficking and foster care. https://doi.example.org/10.1/abc.\n"
        "[2] Office for Victims of Crime. (2021). Serving youth:\n"
        "a guide for programs.\n"
        "4. Jones, K. (2019). Family approaches.",
    )
    wait_saved(page)
    items = saved_blocks(session, issue_id)["references-1"]["items"]
    assert [(r["number"], r["text"], r["url"]) for r in items] == [
        (1, "Smith, J. (2020). Trafficking and foster care.", "https://doi.example.org/10.1/abc"),
        (2, "Office for Victims of Crime. (2021). Serving youth: a guide for programs.", ""),
        (4, "Jones, K. (2019). Family approaches.", ""),
    ]


def test_the_theme_fields_set_the_issue_s_own_look(editing: tuple, session: Session) -> None:
    page, url, issue_id = editing
    open_editor(page, url)
    accent, banner = page.get_by_label("Accent colour"), page.get_by_label("Banner line")
    page.get_by_label("Observance", exact=True).select_option("human-trafficking-prevention-month")
    # Empty, they say what the observance gives the issue in their place.
    expect(accent).to_have_attribute("placeholder", "#123f73")
    expect(banner).to_have_attribute("placeholder", "Know the signs. Protect our youth.")
    # The preview takes the observance's look at once, before the choice is saved.
    expect(page.locator("#preview-frame")).to_have_attribute(
        "srcdoc", re.compile("Know the signs. Protect our youth.")
    )
    banner.fill("Prevention Month")
    wait_saved(page)
    expect(page.locator("#f-theme-accent-problem")).to_contain_text("accent colour")
    expect(page.get_by_role("button", name="Request review")).to_be_disabled()
    accent.fill("#0B5A6E")
    wait_saved(page)
    session.expire_all()
    assert session.get(Issue, issue_id).content["theme"] == {
        "accent": "#0b5a6e",
        "banner": "Prevention Month",
    }
    session.rollback()
    expect(page.locator("#preview-frame")).to_have_attribute(
        "srcdoc", re.compile("Prevention Month")
    )
    accent.fill("")
    banner.fill("")
    wait_saved(page)
    session.expire_all()
    assert session.get(Issue, issue_id).content["theme"] is None
    session.rollback()
