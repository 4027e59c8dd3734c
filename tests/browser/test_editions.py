"""The Spanish edition's editor in Chromium: the English beside each block, and out of date."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.issues.models import Issue
from campaigns.issues.service import save_revision
from tests.browser.conftest import wcag_violations
from tests.browser.test_editor_interactions import open_editor
from tests.browser.test_editor_workflow import block, wait_saved
from tests.campaigns.issues.issue_data import basic

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def _edition(session: Session, english_id: int) -> dict[str, Any]:
    """Return the saved edition's columns, ending the read (SQLite: the page's saves wait)."""
    session.expire_all()
    edition = session.scalars(sa.select(Issue).where(Issue.edition_of_id == english_id)).one()
    row = {
        "id": edition.id,
        "content": edition.content,
        "language": edition.language,
        "translated_from_revision": edition.translated_from_revision,
    }
    session.rollback()
    return row


def test_the_spanish_edition_is_translated_beside_the_english(
    editing: tuple, session: Session, new_page: Callable[..., Any]
) -> None:
    signed_in, url, english_id = editing
    # axe-core is injected as an inline script, which the pages' CSP refuses.
    page = new_page(bypass_csp=True, storage_state=signed_in.context.storage_state())
    open_editor(page, url)
    page.get_by_role("button", name="Create the Spanish edition").click()
    expect(page.locator("body[data-editor-ready]")).to_have_count(1)
    expect(page.locator("#edition-of")).to_contain_text("Spanish edition of")
    expect(page.locator("#edition-out-of-date")).to_be_hidden()
    edition_id = _edition(session, english_id)["id"]
    assert page.url.endswith(f"/admin/issues/{edition_id}/edit")

    english = block(page, "intro").locator("details.original-text")
    expect(english).to_have_attribute("open", "")
    expect(english.locator("summary")).to_have_text("English")
    expect(english.locator("[lang=en]")).to_contain_text("April is Prevention Month.")
    expect(block(page, "third").locator("details.original-text")).to_contain_text("Third block")
    expect(page.locator("#original-fields")).to_contain_text("Prevention Month resources")
    expect(page.get_by_label("Language", exact=True)).to_be_disabled()
    block(page, "intro").get_by_label("Paragraph text", exact=True).fill(
        "Abril es el Mes de la Prevención."
    )
    wait_saved(page)
    saved = _edition(session, english_id)
    assert saved["content"]["blocks"][0]["text"] == "Abril es el Mes de la Prevención."
    assert saved["language"] == "es" and saved["translated_from_revision"] == 1
    assert wcag_violations(page) == []

    # The English changes: the edition says it is out of date and shows the new English.
    original = session.get(Issue, english_id)
    changed = basic()
    changed["blocks"][0]["text"] = "April is National Prevention Month."
    changed["blocks"].append({"id": "third", "type": "heading", "text": "Third block"})
    save_revision(session, original, changed, base_revision=1, saved_by_id=None)
    session.commit()
    page.reload()
    expect(page.locator("body[data-editor-ready]")).to_have_count(1)
    expect(page.locator("#edition-out-of-date")).to_be_visible()
    expect(page.locator("#edition-out-of-date")).to_contain_text("Out of date")
    expect(block(page, "intro").locator("details.original-text")).to_contain_text(
        "National Prevention Month"
    )
    expect(page.locator("#checks")).to_contain_text(re.compile("changed after this Spanish"))
    block(page, "intro").get_by_label("Paragraph text", exact=True).fill(
        "Abril es el Mes Nacional de la Prevención."
    )
    wait_saved(page)
    expect(page.locator("#edition-out-of-date")).to_be_hidden()
    assert _edition(session, english_id)["translated_from_revision"] == 2

    open_editor(page, url)
    page.get_by_role("link", name="Open the Spanish edition").click()
    expect(page.locator("#edition-of")).to_be_visible()
