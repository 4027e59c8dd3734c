"""Test sends from the staff pages: to me or the test list, from a campaign or the editor."""

from __future__ import annotations

import html
import re
from pathlib import Path

import sqlalchemy as sa

from campaigns.sending.models import Campaign
from engine.audit import AuditEntry
from tests.campaigns.sending.conftest import make_issue
from tests.factories import EDITOR_EMAIL, csrf_token_from, make_user
from tests.html_validator import html_errors

#: The signed-in editor of ``editor_client``: "me" in the test-send form.
ME = EDITOR_EMAIL


def _post(client, path: str, page: str, addresses: list[str]):
    return client.post(path, data={"csrf_token": csrf_token_from(page), "addresses": addresses})


def _flash(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'<p class="flash flash-(\w+)">(.*?)</p>', page, re.S)
    assert match, "no flash message"
    return f"{match.group(1)}: {html.unescape(match.group(2))}"


def _audited(session, action: str) -> list[dict]:
    query = sa.select(AuditEntry.details).where(AuditEntry.action == action)
    return list(session.scalars(query))


def test_send_a_test_to_me_from_the_campaign_page(editor_client, session, new_campaign, outbox):
    campaign = new_campaign()
    campaign_id, subject = campaign.id, campaign.subject
    page = editor_client.get(f"/admin/campaigns/{campaign_id}").get_data(as_text=True)
    session.commit()
    response = _post(editor_client, f"/admin/campaigns/{campaign_id}/test-send", page, [ME])
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/campaigns/{campaign_id}")
    [message] = outbox.sent
    assert (message.to_address, message.subject) == (ME, f"[Test] {subject}")
    flash = _flash(editor_client, f"/admin/campaigns/{campaign_id}")
    assert flash == f"success: Test send with [Test] before the subject: {ME}: sent."
    assert _audited(session, "campaign.test_send") == [{"addresses": [ME], "accepted": 1}]


def test_send_a_test_from_the_editor_without_a_campaign(
    editor_client, session, settings, outbox
) -> None:
    issue = make_issue(session)
    session.commit()
    issue_id, subject = issue.id, issue.content["subject"]
    editor = editor_client.get(f"/admin/issues/{issue_id}/edit").get_data(as_text=True)
    assert "Send a test to me" in editor
    assert f'href="/admin/issues/{issue_id}/test-send"' in editor
    session.commit()
    response = _post(editor_client, f"/admin/issues/{issue_id}/test-send", editor, [ME])
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/issues/{issue_id}/edit")
    [message] = outbox.sent
    assert (message.to_address, message.subject) == (ME, f"[Test] {subject}")
    assert "Spotlight" in message.html and message.text
    assert message.headers["Message-ID"].startswith("<test.")
    assert session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0
    assert _audited(session, "issue.test_send") == [{"addresses": [ME], "accepted": 1}]
    session.commit()
    flash = _flash(editor_client, f"/admin/issues/{issue_id}/edit")
    assert flash.startswith("success: Test send of revision 1, the last saved, with [Test]")


def test_the_test_list_offers_active_staff_and_configured_inboxes(
    app, editor_client, session, settings
) -> None:
    app.extensions["pinwheel.settings"] = app.extensions["pinwheel.settings"].with_overrides(
        TEST_SEND_ADDRESSES=("seed@inbox-check.example",)
    )
    make_user(session, role="approver", email="approver@agency.example.org")
    leaver = make_user(session, role="editor", email="leaver@agency.example.org")
    leaver.active = False
    issue = make_issue(session)
    session.commit()
    page = editor_client.get(f"/admin/issues/{issue.id}/test-send").get_data(as_text=True)
    boxes = dict(re.findall(r'name="addresses" value="([^"]+)"( checked)?', page))
    assert boxes == {
        "approver@agency.example.org": "",
        ME: " checked",
        "seed@inbox-check.example": "",
    }
    assert "(test inbox)" in page


def test_the_test_list_sends_to_each_ticked_address(
    app, editor_client, session, new_campaign, outbox
) -> None:
    make_user(session, role="approver", email="approver@agency.example.org")
    campaign = new_campaign()
    campaign_id = campaign.id
    page = editor_client.get(f"/admin/campaigns/{campaign_id}/test-send").get_data(as_text=True)
    session.commit()
    chosen = [ME, "approver@agency.example.org"]
    response = _post(editor_client, f"/admin/campaigns/{campaign_id}/test-send", page, chosen)
    assert response.status_code == 302
    assert sorted(m.to_address for m in outbox.sent) == sorted(chosen)
    assert all(m.subject.startswith("[Test] ") for m in outbox.sent)
    flash = _flash(editor_client, f"/admin/campaigns/{campaign_id}")
    assert f"{ME}: sent; approver@agency.example.org: sent." in flash


def test_a_non_staff_address_is_refused_with_422(
    editor_client, session, new_campaign, outbox
) -> None:
    campaign = new_campaign()
    campaign_id = campaign.id
    page = editor_client.get(f"/admin/campaigns/{campaign_id}").get_data(as_text=True)
    session.commit()
    path = f"/admin/campaigns/{campaign_id}/test-send"
    response = _post(editor_client, path, page, ["reader@example.com"])
    assert response.status_code == 422
    body = html.unescape(response.get_data(as_text=True))
    assert "The test was not sent" in body
    assert "reader@example.com: test sends go only to staff users' addresses" in body
    assert outbox.sent == []
    assert _audited(session, "campaign.test_send") == []


def test_no_address_chosen_is_refused_with_422(editor_client, session, outbox) -> None:
    issue = make_issue(session)
    session.commit()
    issue_id = issue.id
    page = editor_client.get(f"/admin/issues/{issue_id}/test-send").get_data(as_text=True)
    session.commit()
    response = _post(editor_client, f"/admin/issues/{issue_id}/test-send", page, [])
    assert response.status_code == 422
    assert "Choose at least one address" in response.get_data(as_text=True)
    assert outbox.sent == []


def test_test_send_pages_are_valid_html(
    editor_client, session, new_campaign, tmp_path: Path
) -> None:
    issue = make_issue(session)
    campaign = new_campaign()
    session.commit()
    issue_page = editor_client.get(f"/admin/issues/{issue.id}/test-send")
    page = issue_page.get_data(as_text=True)
    refused = _post(editor_client, f"/admin/issues/{issue.id}/test-send", page, ["x@example.com"])
    pages = {
        "issue test send": page,
        "campaign test send": editor_client.get(
            f"/admin/campaigns/{campaign.id}/test-send"
        ).get_data(as_text=True),
        "refused": refused.get_data(as_text=True),
    }
    assert html_errors(pages, tmp_path) == []


def test_a_mail_service_refusing_credentials_is_a_clear_503(
    editor_client, session, new_campaign, monkeypatch
) -> None:
    from engine.delivery.base import BackendAuthError
    from engine.delivery.memory import MemoryBackend

    def refuse(self, messages):
        raise BackendAuthError("535 authentication failed")

    monkeypatch.setattr(MemoryBackend, "send_batch", refuse)
    campaign_id = new_campaign().id
    page = editor_client.get(f"/admin/campaigns/{campaign_id}").get_data(as_text=True)
    session.commit()
    response = _post(editor_client, f"/admin/campaigns/{campaign_id}/test-send", page, [ME])
    assert response.status_code == 503
    assert "refused Pinwheel&#39;s credentials" in response.get_data(as_text=True)
