"""End to end in Chromium: write an issue, fail and fix a check, review, approve, schedule, send."""

from __future__ import annotations

import email
import re
import struct
import time
import zlib
from collections.abc import Callable
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from engine.config import Settings
from tests.browser.conftest import serious_violations
from tests.factories import PASSWORD, make_subscriber, make_topic, make_user

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


def tiny_png() -> bytes:
    """Return a valid 2 by 2 pixel PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x1f\x4e\x8c" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def sign_in(page: Any, base: str, address: str) -> None:
    page.goto(f"{base}/admin/login")
    page.get_by_label("Email address").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/admin/login"))


def block(page: Any, block_id: str) -> Any:
    return page.locator(f'[data-block-id="{block_id}"]')


def add_block(page: Any, kind: str) -> None:
    page.get_by_label("Block type").select_option(kind)
    page.get_by_role("button", name="Add block").click()


def wait_saved(page: Any) -> None:
    expect(page.locator("#save-status")).to_have_text(
        re.compile("All changes saved"), timeout=20_000
    )


def compose_every_block(page: Any, image_path: Path) -> None:
    """Fill the starter's blocks and add one block of every other kind."""
    block(page, "intro").get_by_label("Paragraph text", exact=True).fill(
        "Kinship caregivers keep children connected to family."
    )
    area = block(page, "intro").get_by_label("Paragraph text", exact=True)
    area.press("End")
    area.press("Shift+Home")
    block(page, "intro").get_by_role("button", name="Bold").click()
    resources = block(page, "resources")
    resources.get_by_label("Resource 1 title").fill("Kinship Care Toolkit")
    resources.get_by_label("Link (https://…)").fill("https://resources.example.org/kinship")
    add_block(page, "heading")
    block(page, "heading-1").get_by_label("Heading text").fill("Why kinship matters")
    add_block(page, "bullets")
    block(page, "bullets-1").get_by_label("Item 1 text", exact=True).fill(
        "Children placed with kin have more stable placements[^1]."
    )
    add_block(page, "callout")
    block(page, "callout-1").get_by_label("Callout body", exact=True).fill(
        "Start with a family-finding conversation."
    )
    add_block(page, "quote")
    block(page, "quote-1").get_by_label("Quotation").fill("Family is where the healing starts.")
    block(page, "quote-1").get_by_label("Attribution").fill("A kinship caregiver")
    add_block(page, "image")
    block(page, "image-1").get_by_label(re.compile("Upload an image")).set_input_files(
        str(image_path)
    )
    expect(block(page, "image-1").get_by_label("Image address")).to_have_value(
        re.compile(r"/media/")
    )
    add_block(page, "button")
    block(page, "button-1").get_by_label("Button label").fill("Read the kinship guide")
    block(page, "button-1").get_by_label("Button link").fill("https://resources.example.org/guide")
    add_block(page, "divider")
    add_block(page, "references")
    block(page, "references-1").get_by_label("Reference 1 text").fill(
        "Kinship placement outcomes, 2024."
    )
    add_block(page, "toc")
    block(page, "toc-1").get_by_role("button", name=re.compile("Move up")).click()


def build_issue(page: Any, base: str, tmp_path: Path) -> int:
    page.goto(f"{base}/admin/issues/new")
    page.get_by_label("Title").fill("Spotlight on Kinship Care")
    page.get_by_label("Spotlight").check()
    page.get_by_role("button", name="Create and edit").click()
    expect(page.locator("body[data-editor-ready]")).to_have_count(1)
    page.get_by_label("Kicker").fill("Spotlight On...")
    page.get_by_label("Subject line").fill("Spotlight on Kinship Care")
    page.get_by_label("Preheader").fill(
        "How kinship caregivers keep children connected to their families."
    )
    page.get_by_label("Kinship families").check()
    # This issue is shaped otherwise than the bulletin the starter lays out: its other
    # sections go, keeping the introduction and the related resources.
    for block_id in ("facts", "approach", "closing", "training", "publications",
                     "organizations", "references"):  # fmt: skip
        block(page, block_id).locator('[data-tool="Delete"]').click()
    image = tmp_path / "family.png"
    image.write_bytes(tiny_png())
    compose_every_block(page, image)
    return int(re.search(r"/admin/issues/(\d+)/edit", page.url).group(1))


def fail_then_fix_alt_text(page: Any) -> None:
    checks = page.locator("#checks")
    expect(checks).to_contain_text("alt", timeout=20_000)
    # The draft saves all the same; the image says what it still needs.
    wait_saved(page)
    expect(block(page, "image-1").locator(".block-problems")).to_contain_text(
        "The image has no alt text yet"
    )
    expect(page.get_by_role("button", name="Request review")).to_be_disabled()
    checks.get_by_role("button", name="Go to block image-1").first.click()
    expect(block(page, "image-1").get_by_label("Alt text", exact=True)).to_be_focused()
    block(page, "image-1").get_by_label("Alt text", exact=True).fill(
        "A grandmother reading with two children"
    )
    wait_saved(page)
    expect(checks).not_to_contain_text("Error:", timeout=20_000)
    expect(page.get_by_role("button", name="Request review")).to_be_enabled()


def check_preview(page: Any) -> None:
    frame = page.locator("#preview-frame")
    expect(frame).to_have_attribute("srcdoc", re.compile("Why kinship matters"))
    expect(
        page.frame_locator("#preview-frame").get_by_role("heading", name="Why kinship matters")
    ).to_be_visible()
    page.get_by_label("Mobile", exact=True).check()
    expect(frame).to_have_css("width", "375px")
    page.get_by_label("Dark", exact=True).check()
    page.get_by_label("Plain text", exact=True).check()
    expect(page.locator("#preview-text")).to_contain_text("Why kinship matters")
    page.get_by_label("Email", exact=True).check()
    page.get_by_label("Light", exact=True).check()


def audit_accessibility(new_page: Callable[..., Any], page: Any, base: str, issue_id: int) -> None:
    """Run axe-core on the editor, the preview page and the email itself (CSP bypassed for axe)."""
    audit = new_page(bypass_csp=True, storage_state=page.context.storage_state())
    audit.goto(f"{base}/admin/issues/{issue_id}/edit")
    expect(audit.locator("#checks .check, #checks .check-ok").first).to_be_visible()
    assert serious_violations(audit) == [], "editor"
    audit.goto(f"{base}/admin/issues/{issue_id}/preview")
    assert serious_violations(audit) == [], "preview page"
    audit.set_content(page.locator("#preview-frame").get_attribute("srcdoc"))
    assert serious_violations(audit) == [], "email"


def approve_as(new_page: Callable[..., Any], base: str, approver: str, issue_id: int) -> None:
    page = new_page()
    sign_in(page, base, approver)
    page.goto(f"{base}/admin/issues/{issue_id}/review")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#review-status")).to_have_text("Approved")


def schedule_and_send(page: Any, base: str, issue_id: int) -> None:
    page.goto(f"{base}/admin/issues/{issue_id}/campaigns/new")
    expect(page.locator("#audience-count")).to_have_text("2 recipients now.")
    expect(page.locator("#approval-status")).to_contain_text("Approved")
    page.get_by_label("At a local date and time").check()
    page.get_by_label("Local date and time", exact=True).fill("2099-04-01T09:00")
    page.get_by_label("Time zone").select_option("America/Chicago")
    expect(page.locator("#send-time")).to_contain_text("2099-04-01 14:00 UTC")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.locator('[data-field="status"]')).to_have_text("Scheduled")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Send now").click()


def outbox_messages(settings: Settings, count: int) -> list[Message]:
    """Wait for ``count`` campaign messages in the outbox (staff emails are left out)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        files = sorted(settings.outbox_path.glob("**/*.eml"))
        messages = [email.message_from_bytes(f.read_bytes()) for f in files]
        campaign = [m for m in messages if m["List-Unsubscribe"]]
        if len(campaign) >= count:
            return campaign
        time.sleep(0.2)
    raise AssertionError(f"expected {count} campaign messages in {settings.outbox_path}")


def webview_link(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            html = part.get_payload(decode=True).decode()
            match = re.search(r'href="([^"]+)"[^>]*>View it as a web page', html)
            assert match, "the email has no web view link"
            return match.group(1).replace("&amp;", "&")
    raise AssertionError("no HTML part")


def test_write_review_approve_schedule_and_send(
    app: Flask,
    live_url: str,
    new_page: Callable[..., Any],
    session: Session,
    settings: Settings,
    tmp_path: Path,
) -> None:
    editor, approver = make_user(session, "editor"), make_user(session, "approver")
    topic = make_topic(session, name="Kinship families")
    for _ in range(2):
        make_subscriber(session, topics=[topic])
    session.commit()
    page = new_page()
    sign_in(page, live_url, editor.email)
    issue_id = build_issue(page, live_url, tmp_path)
    fail_then_fix_alt_text(page)
    check_preview(page)
    audit_accessibility(new_page, page, live_url, issue_id)
    page.get_by_role("button", name="Request review").click()
    expect(page.locator("#review-status")).to_have_text("In review")
    approve_as(new_page, live_url, approver.email, issue_id)
    schedule_and_send(page, live_url, issue_id)
    messages = outbox_messages(settings, 2)
    assert {m["Subject"] for m in messages} == {"Spotlight on Kinship Care"}
    link = webview_link(messages[0])
    assert link.startswith(f"{live_url}/view/spotlight-on-kinship-care")
    open_web_view(page, link)


def open_web_view(page: Any, link: str) -> None:
    deadline = time.monotonic() + 20
    while (response := page.goto(link)).status != 200 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert response.status == 200, response.status
    expect(page.get_by_text("Spotlight on Kinship Care").first).to_be_visible()
