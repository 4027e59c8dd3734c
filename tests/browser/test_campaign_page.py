"""The campaign page in Chromium: accessible at desktop and phone widths, confirmed actions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from campaigns.scheduling.service import schedule_at
from campaigns.sending.service import create_campaign
from engine.clock import now
from engine.config import Settings
from tests.browser.conftest import serious_violations
from tests.browser.test_editor_workflow import sign_in
from tests.campaigns.sending.conftest import make_audience, make_issue
from tests.factories import make_topic, make_user

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def test_scheduled_campaign_page(
    live_url: str, new_page: Callable[..., Any], session: Session, settings: Settings
) -> None:
    editor = make_user(session, "editor", email="editor@agency.example.org")
    topic = make_topic(session, name="Kinship families")
    make_audience(session, topic, 2)
    campaign = create_campaign(session, make_issue(session), [topic], settings=settings)
    schedule_at(
        session,
        campaign.id,
        datetime(2099, 1, 12, 10, 0),
        "America/New_York",
        now=now(),
        approval_threshold=settings.APPROVAL_THRESHOLD,
    )
    session.commit()
    url = f"{live_url}/admin/campaigns/{campaign.id}"
    page = new_page(bypass_csp=True)
    sign_in(page, live_url, editor.email)
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(url)
        expect(page.locator('[data-field="status"]')).to_have_text("Scheduled")
        assert serious_violations(page) == [], width
    questions: list[str] = []

    def dismiss(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.get_by_role("button", name="Send now").click()
    page.get_by_role("button", name="Cancel campaign").click()
    assert questions[0].startswith("Send to 2 recipients now? It is scheduled for Jan 12, 2099")
    assert questions[1].startswith("Cancel this campaign for good?")
    expect(page.locator('[data-field="status"]')).to_have_text("Scheduled")
    page.get_by_role("button", name="Send a test to me").click()
    expect(page.locator(".flash")).to_contain_text("editor@agency.example.org: sent")
