"""The staff flow in Chromium, from a layout starter to a report that counts an unsubscribe.

An editor rebuilds sample issue 000 (``SPOTLIGHT_000``) from the Spotlight starter, autosaving
with an unfinished block on the way, sends a test to their own address and asks for review. An
approver, who did not edit it, follows the review request in the outbox and approves with a
comment. The editor schedules the campaign by National Human Trafficking Prevention Month; the
campaign page shows the local send time, its zone and the audience. The scheduler's job starts
it when it is due; the outbox viewer shows the message; a subscriber unsubscribes through the
email's own link and the campaign's report counts one unsubscribe. Every UI action is counted,
and the test prints how many rebuilding the issue took and where they went.
"""

from __future__ import annotations

import email
import email.policy
import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from campaigns import jobs
from campaigns.content.document import IssueContent, content_from_dict
from campaigns.issues.models import Issue
from campaigns.observances.service import find_observance
from campaigns.scheduling.rules import next_observance_send_time
from engine.clock import now
from engine.config import Settings
from engine.display import html_datetime, local_time_text
from tests.browser.editor_actions import ActionCount, write_blocks_from
from tests.browser.test_editor_workflow import block, wait_saved
from tests.campaigns.seed_issues import SPOTLIGHT_000
from tests.factories import PASSWORD, make_subscriber, make_topic, make_user

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

SEED = SPOTLIGHT_000
OBSERVANCE = "human-trafficking-prevention-month"
OBSERVANCE_NAME = "National Human Trafficking Prevention Month"
ZONE = "America/Chicago"
RULE = "first-business-day 09:00"
COMMENT = "Approved: the footnotes and resource links check out."
#: Parts of the count that rebuild the issue; the rest is the flow around it.
REBUILD_PARTS = ("new issue", "issue settings", "starter blocks", "placing blocks", "block ")
#: Actions the rebuild took when this test was written (84 before pasting lists; the goal was
#: fewer than 45).
REBUILD_ACTIONS = 24


@pytest.fixture
def settings(settings: Settings, database_url: str) -> Settings:
    """Require an approval for any send, as the default does (the test settings allow 1,000).

    ``database_url`` is named so that pytest still parametrizes it for this test.
    """
    return settings.with_overrides(APPROVAL_THRESHOLD=0)


def test_rebuild_seed_000_then_review_schedule_send_and_unsubscribe(
    app: Flask,
    live_url: str,
    new_page: Callable[..., Any],
    session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    editor, approver = make_user(session, "editor"), make_user(session, "approver")
    topic = make_topic(session, slug="human-trafficking", name="Human trafficking")
    readers = [make_subscriber(session, topics=[topic]).email for _ in range(2)]
    editor_address, approver_address = editor.email, approver.email
    session.commit()
    acts = ActionCount()
    page = new_page()
    sign_in(acts, page, live_url, editor_address)

    issue_id = rebuild_seed(acts, page, live_url, session)
    with acts.counting("audience: the issue's topic"):
        acts.check(page.get_by_label("Human trafficking", exact=True))
    wait_saved(page)
    expect(page.get_by_role("button", name="Request review")).to_be_enabled(timeout=20_000)
    assert_rebuilt(session, issue_id)
    check_preview(page)
    report_count(acts)

    send_test_to_self(acts, page, settings, editor_address)
    with acts.counting("request review"):
        acts.click(page.get_by_role("button", name="Request review"))
    expect(page.locator("#review-status")).to_have_text("In review")
    approve_with_comment(acts, new_page, live_url, settings, approver_address)
    page.reload()
    expect(page.locator(".review-comments")).to_contain_text(COMMENT)

    due = schedule_by_observance(acts, page, session)
    campaign_id = int(re.search(r"/admin/campaigns/(\d+)", page.url).group(1))
    check_campaign_page(page, due)
    # The scheduler's job, run in this process at the minute after the send time.
    monkeypatch.setattr(jobs, "now", lambda: due + timedelta(minutes=1))
    jobs.dispatch_due_campaigns(app)
    sent = {address: campaign_message(settings, address) for address in readers}
    page.reload()
    expect(page.locator('[data-field="status"]')).to_have_text("Sent", timeout=20_000)

    check_outbox_viewer(acts, page, live_url, readers[0])
    unsubscribe_through_the_email(acts, new_page, live_url, sent[readers[0]])
    with acts.counting("report"):
        page.goto(f"{live_url}/admin/campaigns/{campaign_id}")
        acts.click(page.get_by_role("link", name=re.compile("^Report: ")))
    unsubscribes = page.locator("tr", has=page.get_by_role("rowheader", name="Unsubscribes"))
    expect(unsubscribes.locator("td").first).to_have_text("1")
    print("\nUI actions in the whole flow:\n" + "\n".join(acts.lines()))


# ---- the editor's part: the issue rebuilt from a layout starter ------------------------------


def sign_in(acts: ActionCount, page: Any, base: str, address: str) -> None:
    with acts.counting("sign in"):
        page.goto(f"{base}/admin/login")
        acts.fill(page.get_by_label("Email address"), address)
        acts.fill(page.get_by_label("Password"), PASSWORD)
        acts.click(page.get_by_role("button", name="Sign in"))
    expect(page).not_to_have_url(re.compile(r"/admin/login"))


def rebuild_seed(acts: ActionCount, page: Any, base: str, session: Session) -> int:
    """Write ``SEED`` into a new issue made from its layout's starter; return the issue's id."""
    page.goto(f"{base}/admin/issues/new")
    with acts.counting("new issue: title, layout, create"):
        acts.fill(page.get_by_label("Title"), SEED["title"])
        acts.check(page.get_by_label(SEED["layout"].capitalize(), exact=True))
        acts.click(page.get_by_role("button", name="Create and edit"))
    expect(page.locator("body[data-editor-ready]")).to_have_count(1)
    issue_id = int(re.search(r"/admin/issues/(\d+)/edit", page.url).group(1))
    with acts.counting("issue settings: kicker, subject, preheader, observance, theme"):
        for label, key in (("Kicker", "kicker"), ("Subject line", "subject"),
                           ("Preheader", "preheader")):  # fmt: skip
            acts.set(page.get_by_label(label, exact=True), SEED.get(key, ""))
        acts.set(page.get_by_label("Observance", exact=True), OBSERVANCE)
        acts.set(page.get_by_label("Accent colour"), SEED["theme"]["accent"])
        acts.set(page.get_by_label("Banner line"), SEED["theme"]["banner"])
    check_unfinished_starter_autosaves(page, session, issue_id)
    write_blocks(acts, page, SEED["blocks"])
    return issue_id


def write_blocks(acts: ActionCount, page: Any, blocks: list[dict[str, Any]]) -> None:
    """Write ``blocks`` over the starter's: each starter block takes the next of its type.

    Paragraphs in a row are pasted together into one block, which the editor splits. Starter
    blocks nothing takes are deleted first; the others are written in place and the rest added
    where they belong, so the editor ends with ``blocks`` in order.
    """
    runs = paragraph_runs(blocks)
    starter = [block(page, block_id) for block_id in block_order(page)]
    kept = starter_matches([starter_block(card) for card in starter], [run[0] for run in runs])
    with acts.counting("starter blocks deleted"):
        for n, card in enumerate(reversed(starter)):
            if len(starter) - 1 - n not in kept.values():
                acts.click(card.locator('[data-tool="Delete"]'))
    written = 0
    for index, run in enumerate(runs):
        with acts.counting(f"block {written + 1:2} {run[0]['type']}: {block_words(run[0])}"):
            card = cards_by_match(starter, kept).get(index)
            if card is None:
                with acts.counting("placing blocks: Where"):
                    acts.set(page.get_by_label("Where"), str(written))
                card = add_block(acts, page, run[0]["type"])
            write_blocks_from(acts, card, run)
        written += len(run)
    assert [block(page, i).get_attribute("data-type") for i in block_order(page)] == [
        b["type"] for b in blocks
    ]


def paragraph_runs(blocks: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Group ``blocks`` so that paragraphs in a row share a group; every other block is alone."""
    runs: list[list[dict[str, Any]]] = []
    for content in blocks:
        if runs and content["type"] == runs[-1][-1]["type"] == "paragraph":
            runs[-1].append(content)
        else:
            runs.append([content])
    return runs


def cards_by_match(starter: list[Any], kept: dict[int, int]) -> dict[int, Any]:
    return {index: starter[n] for index, n in kept.items()}


def starter_matches(
    starter: list[tuple[str | None, str]], blocks: list[dict[str, Any]]
) -> dict[int, int]:
    """Pair blocks with starter blocks ``(type, title)`` in order: block → starter index.

    A starter block of the same type and title is taken first, as a person would take the
    starter's "Related Resources" for theirs; else the next of the type that no later block
    would take by its title.
    """
    matches: dict[int, int] = {}
    cursor = 0
    for index, content in enumerate(blocks):
        later = {b.get("title") for b in blocks[index + 1 :]}
        same = [n for n in range(cursor, len(starter)) if starter[n][0] == content["type"]]
        found = next((n for n in same if starter[n][1] == content.get("title")), None)
        if found is None:
            found = next((n for n in same if starter[n][1] not in later), None)
        if found is not None:
            matches[index], cursor = found, found + 1
    return matches


def starter_block(card: Any) -> tuple[str | None, str]:
    """Return a starter card's type and title (empty for blocks without one)."""
    title = card.locator('[data-key="title"]')
    return card.get_attribute("data-type"), title.first.input_value() if title.count() else ""


def block_words(content: dict[str, Any]) -> str:
    """Name a block in a line of the count: its title, or the start of its first text."""
    text = content.get("title") or content.get("text") or content["items"][0]["text"]
    return text if len(text) <= 40 else f"{text[:40]}…"


def add_block(acts: ActionCount, page: Any, kind: str) -> Any:
    """Add a block of ``kind`` where "Where" says; return its card (the one given focus)."""
    acts.set(page.get_by_label("Block type"), kind)
    acts.click(page.get_by_role("button", name="Add block"))
    block_id = page.evaluate("document.activeElement.closest('li.block').dataset.blockId")
    return block(page, block_id)


def block_order(page: Any) -> list[str]:
    return page.locator("#blocks > li").evaluate_all("cards => cards.map(c => c.dataset.blockId)")


def stored_content(session: Session, issue_id: int) -> dict[str, Any]:
    session.expire_all()
    content = dict(session.get(Issue, issue_id).content)
    session.rollback()
    return content


def check_unfinished_starter_autosaves(page: Any, session: Session, issue_id: int) -> None:
    """The starter's empty list saves as a draft, says what it needs and blocks review."""
    wait_saved(page)
    expect(page.locator("#save-status")).to_contain_text(
        re.compile(r"\d+ things to finish before review")
    )
    expect(block(page, "facts").locator(".block-problems")).to_contain_text(
        "Item 1 has no text yet."
    )
    expect(page.get_by_role("button", name="Request review")).to_be_disabled()
    saved = {b["id"]: b for b in stored_content(session, issue_id)["blocks"]}
    assert [item["text"] for item in saved["facts"]["items"]] == [""]


def assert_rebuilt(session: Session, issue_id: int) -> None:
    """The stored issue is the seed, block ids aside."""

    def comparable(content: IssueContent) -> IssueContent:
        return replace(content, blocks=tuple(replace(b, id="") for b in content.blocks))

    stored = content_from_dict(stored_content(session, issue_id))
    assert comparable(stored) == comparable(content_from_dict(SEED))


def check_preview(page: Any) -> None:
    frame = page.locator("#preview-frame")
    for words in ("Having trouble viewing this email?", "Approach to Consider",
                  "Related Organizations", "Received this from a friend?"):  # fmt: skip
        expect(frame).to_have_attribute("srcdoc", re.compile(re.escape(words)))


def report_count(acts: ActionCount) -> None:
    def rebuilding(part: str) -> bool:
        return part.startswith(REBUILD_PARTS)

    total = acts.total(rebuilding)
    verbs = ", ".join(f"{n} {verb}" for verb, n in acts.verbs(rebuilding).most_common())
    print(
        f"\nUI actions to rebuild seed 000 from the Spotlight starter: {total} ({verbs})\n"
        + "\n".join(acts.lines(rebuilding))
    )
    assert total <= REBUILD_ACTIONS, f"rebuilding seed 000 now takes {total} UI actions"


# ---- test send, review and approval ---------------------------------------------------------


def outbox_message(settings: Settings, wanted: Callable[[EmailMessage], bool]) -> EmailMessage:
    """Wait for a message in the outbox folder that ``wanted`` accepts, and return it."""
    deadline = time.monotonic() + 30
    while True:
        for path in sorted(settings.outbox_path.glob("**/*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if wanted(message):
                return message
        if time.monotonic() > deadline:
            raise AssertionError(f"no such message in {settings.outbox_path}")
        time.sleep(0.2)


def addressed_to(address: str, subject: str) -> Callable[[EmailMessage], bool]:
    return lambda m: address in str(m["To"]) and str(m["Subject"]).startswith(subject)


def send_test_to_self(acts: ActionCount, page: Any, settings: Settings, address: str) -> None:
    with acts.counting("test send"):
        acts.click(page.get_by_role("button", name="Send a test to me"))
    # The page stays until the answer comes, and a test send compiles the issue first.
    expect(page.locator(".flash")).to_contain_text(f"{address}: sent", timeout=30_000)
    proof = outbox_message(settings, addressed_to(address, "[Test]"))
    assert proof["Subject"] == f"[Test] {SEED['subject']}"


def approve_with_comment(
    acts: ActionCount, new_page: Callable[..., Any], base: str, settings: Settings, approver: str
) -> None:
    notice = outbox_message(settings, addressed_to(approver, "Waiting for your review"))
    link = re.search(r"https?://\S+/review\b", notice.get_body(("plain",)).get_content())
    assert link, "the review request has no link to the review page"
    page = new_page()
    sign_in(acts, page, base, approver)
    page.goto(link.group(0))
    expect(page.get_by_label("Human trafficking", exact=True)).to_be_checked()
    with acts.counting("approve with a comment"):
        acts.fill(page.get_by_label("Comment for the authors (optional)"), COMMENT)
        acts.click(page.get_by_role("button", name="Approve", exact=True))
    expect(page.locator("#review-status")).to_have_text("Approved")
    expect(page.locator(".review-comments")).to_contain_text(COMMENT)


# ---- the campaign: scheduled by an observance, started by the scheduler ----------------------


def schedule_by_observance(acts: ActionCount, page: Any, session: Session) -> datetime:
    """Create the campaign from the review page, scheduled by the observance; return its time."""
    observance = find_observance(session, OBSERVANCE)
    _year, due = next_observance_send_time(observance, RULE, ZONE, after=now())
    session.rollback()
    with acts.counting("schedule by the observance"):
        acts.click(page.get_by_role("link", name="Create a campaign"))
        expect(page.locator("#audience-count")).to_have_text("2 recipients now.")
        expect(page.locator("#approval-status")).to_contain_text("Approved")
        acts.check(page.get_by_label("By an observance"))
        expect(page.get_by_label("Observance", exact=True)).to_have_value(OBSERVANCE)
        acts.set(page.get_by_label("Time zone"), ZONE)
        acts.set(page.get_by_label("Send rule"), RULE)
        expect(page.locator("#send-time")).to_contain_text(
            f"({due.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"
        )
        acts.click(page.get_by_role("button", name="Create campaign"))
    expect(page.locator('[data-field="status"]')).to_have_text("Scheduled")
    return due


def check_campaign_page(page: Any, due: datetime) -> None:
    """The page says when (local time and zone), by which rule, to whom, and that it may go."""
    assert due.astimezone(ZoneInfo(ZONE)).hour == 9
    schedule = page.locator("section", has=page.locator("#schedule-heading"))
    expect(schedule.locator("time")).to_have_attribute("datetime", html_datetime(due))
    expect(schedule).to_contain_text(f"{local_time_text(due, ZONE)} ({ZONE})")
    expect(schedule).to_contain_text(f"On the first business day of {OBSERVANCE_NAME}, at 09:00")
    audience = page.locator("section", has=page.locator("#audience-heading"))
    expect(audience).to_contain_text("Human trafficking")
    expect(page.locator("#audience-now")).to_contain_text(re.compile(r"^2\b"))
    approval = page.locator("section", has=page.locator("#approval-heading"))
    expect(approval).to_contain_text("Approved for revision")


def campaign_message(settings: Settings, address: str) -> EmailMessage:
    return outbox_message(
        settings, lambda m: address in str(m["To"]) and m["Subject"] == SEED["subject"]
    )


def check_outbox_viewer(acts: ActionCount, page: Any, base: str, reader: str) -> None:
    page.goto(f"{base}/admin/outbox/")
    row = page.get_by_role("row", name=re.compile(re.escape(reader)))
    expect(row).to_contain_text(SEED["subject"])
    expect(row).to_contain_text("Campaign")
    with acts.counting("outbox"):
        acts.click(row.get_by_role("link", name=SEED["subject"]))
    expect(page.get_by_role("heading", level=1)).to_have_text(SEED["subject"])
    expect(page.locator(".facts")).to_contain_text(reader)


def unsubscribe_through_the_email(
    acts: ActionCount, new_page: Callable[..., Any], base: str, message: EmailMessage
) -> None:
    html = message.get_body(("html",)).get_content()
    link = re.search(r'href="([^"]+)"[^>]*>Unsubscribe</a>', html)
    assert link, "the email has no Unsubscribe link"
    address = link.group(1).replace("&amp;", "&")
    assert address.startswith(f"{base}/"), address
    reader = new_page()
    reader.goto(address)
    expect(reader.get_by_role("heading", name="Unsubscribe", exact=True)).to_be_visible()
    with acts.counting("unsubscribe"):
        acts.click(reader.get_by_role("button", name="Unsubscribe from everything"))
    expect(reader.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
