"""``pinwheel issues …``: list, show, create, edition, render, check, submit, approve, return."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from campaigns.issues.compiled import issue_problems, render_for_review, render_stored_issue
from campaigns.issues.editions import (
    EDITION_LANGUAGES,
    create_edition,
    edition_check,
    list_editions,
    with_edition_check,
)
from campaigns.issues.models import Issue, IssueStatus
from campaigns.issues.review_notices import review_requests, send_review_requests
from campaigns.issues.service import create_issue, get_issue
from campaigns.issues.workflow import approve, return_to_draft, submit_for_review
from engine import audit
from engine.cli import FeatureGroup, fail
from engine.db import get_database
from engine.users import StaffUser, find_user
from engine.web import get_settings
from subscribers.topics import topics_by_slugs

group = FeatureGroup(
    "issues",
    help="Issues: list, show, create, add an edition, render, check, submit, approve and return.",
)


def _summary(issue: Issue) -> dict[str, Any]:
    return {
        "id": issue.id,
        "slug": issue.slug,
        "title": issue.title,
        "status": str(issue.status),
        "revision": issue.revision,
        "layout": issue.layout,
        "topics": [topic.slug for topic in issue.topics],
        "observance": issue.observance_slug,
        "updated_at": issue.updated_at.isoformat(),
        "sent_at": issue.published_at.isoformat() if issue.published_at else None,
        "language": issue.language,
        "edition_of": issue.edition_of_id,
        "correction_of": issue.correction_of_id,
    }


@group.command("list")
@click.option("--status", type=click.Choice([str(status) for status in IssueStatus]))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(status: str | None, as_json: bool) -> None:
    """List issues, newest first."""
    query = sa.select(Issue).order_by(Issue.id.desc())
    if status:
        query = query.where(Issue.status == status)
    with get_database().session() as session:
        rows = [_summary(issue) for issue in session.scalars(query)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['id']:>5}  {row['status']:<10} r{row['revision']:<4} {row['title']}")


@group.command("show")
@click.argument("issue_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON, content included.")
def show_command(issue_id: int, as_json: bool) -> None:
    """Show an issue's settings (and with --json its content)."""
    with get_database().session() as session:
        issue = get_issue(session, issue_id)
        row, content = _summary(issue), issue.content
    if as_json:
        click.echo(json.dumps({**row, "content": content}, indent=2))
        return
    for key, value in row.items():
        click.echo(f"{key + ':':<12} {value if value not in (None, []) else '-'}")
    click.echo(f"{'blocks:':<12} {len(content.get('blocks', []))}")


def _read_content(file: Path) -> Any:
    try:
        source = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    except OSError as error:
        fail(f"Cannot read {file}: {error.strerror}.")
    try:
        return json.loads(source)
    except json.JSONDecodeError as error:
        fail(f"{file} is not JSON: {error.msg} at line {error.lineno}.")


@group.command("create")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--topic", "topic_slugs", multiple=True, help="Topic slug (repeatable).")
@click.option("--observance", default=None, help="Slug of the observance it is written for.")
@click.option("--json", "as_json", is_flag=True, help="Print the new issue as JSON.")
def create_command(
    file: Path, topic_slugs: tuple[str, ...], observance: str | None, as_json: bool
) -> None:
    """Create a draft issue from a JSON file of content ('-' reads standard input).

    Unfinished parts are kept and listed: they block review and sending, not the draft.
    """
    content = _read_content(file)
    with get_database().session() as session:
        topics = topics_by_slugs(session, list(topic_slugs))
        issue = create_issue(session, content, topics=topics, observance_slug=observance)
        audit.record(session, "cli", "issue.create", issue, layout=issue.layout)
        row, problems = _summary(issue), issue_problems(issue)
    if as_json:
        click.echo(json.dumps({**row, "problems": problems}))
        return
    click.echo(f"Created issue {row['id']} ({row['slug']}).")
    if problems:
        click.echo(f"Fix {len(problems)} problem(s) before asking for review:")
    for problem in problems:
        where = f" [{problem['block_id']}]" if problem["block_id"] else ""
        click.echo(f"- {problem['message']}{where}")


@group.command("render")
@click.argument("issue_id", type=int)
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write; '-' writes to standard output.")  # fmt: skip
@click.option("--text", "as_text", is_flag=True, help="Write the plain-text part, not the HTML.")
def render_command(issue_id: int, out_path: Path, as_text: bool) -> None:
    """Render an issue's latest revision to an HTML (or plain-text) file."""
    with get_database().session() as session:
        issue = get_issue(session, issue_id)
        rendered = render_stored_issue(get_settings(), issue)
        stale = edition_check(issue)
    if stale is not None:
        # On standard error, so that ``--out -`` still writes only the email.
        click.echo(f"Warning: {stale.message}", err=True)
    body = rendered.text if as_text else rendered.html
    if str(out_path) == "-":
        click.echo(body)
        return
    try:
        out_path.write_text(body, encoding="utf-8")
    except OSError as error:
        fail(f"Cannot write {out_path}: {error.strerror}.")
    click.echo(f"Wrote {out_path} ({len(body.encode()):,} bytes).")


@group.command("checks")
@click.argument("issue_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
def checks_command(issue_id: int, as_json: bool) -> None:
    """Run the pre-send checks (and spamd's score where configured); exit 1 on a blocking one."""
    with get_database().session() as session:
        issue = get_issue(session, issue_id)
        rendered = render_for_review(get_settings(), issue)
        found = with_edition_check(issue, rendered.checks)
    checks = [
        {"code": c.code, "severity": str(c.severity), "message": c.message, "block_id": c.block_id}
        for c in found
    ]
    if as_json:
        click.echo(json.dumps({"ok": not rendered.errors, "checks": checks}, indent=2))
    else:
        for check in checks:
            where = f" [{check['block_id']}]" if check["block_id"] else ""
            click.echo(f"{check['severity']:<8} {check['code']}{where}: {check['message']}")
        click.echo("No blocking problems." if not rendered.errors else "Blocking problems found.")
    if rendered.errors:
        sys.exit(1)


@group.command("edition")
@click.argument("issue_id", type=int)
@click.option("--language", type=click.Choice(list(EDITION_LANGUAGES)), default="es",
              show_default=True, help="The edition's language.")  # fmt: skip
@click.option("--as", "email", default=None, help="The staff user creating it (its author).")
def edition_command(issue_id: int, language: str, email: str | None) -> None:
    """Create an issue's edition in another language from its latest content, as a draft."""
    with get_database().session() as session:
        original = get_issue(session, issue_id)
        actor = _staff(session, email) if email else "cli"
        edition = create_edition(session, original, language, actor)
        row = _summary(edition)
        others = [e.id for e in list_editions(session, original)]
    click.echo(f"Created issue {row['id']} ({row['slug']}), the {language} edition of {issue_id}.")
    click.echo(f"Editions of issue {issue_id}: {', '.join(map(str, others))}.")


def _staff(session: Session, email: str) -> StaffUser:
    user = find_user(session, email)
    if not user.active:
        fail(f"{user.email} is deactivated.")
    return user


@group.command("submit")
@click.argument("issue_id", type=int)
@click.option("--as", "email", required=True, help="The staff user who asks for review.")
def submit_command(issue_id: int, email: str) -> None:
    """Ask for review of an issue's latest revision, as a staff user (same rules as the UI)."""
    settings = get_settings()
    with get_database().session() as session:
        issue = get_issue(session, issue_id)
        submitter = _staff(session, email)
        submit_for_review(session, issue, submitter, settings=settings)
        requests = review_requests(session, settings, issue, submitter)
        session.commit()
        told = send_review_requests(settings, requests)
        click.echo(f"Issue {issue.id} revision {issue.revision} is in review.")
        click.echo(f"Emailed {told} approver(s).")


@group.command("approve")
@click.argument("issue_id", type=int)
@click.option("--as", "email", required=True, help="The approver; not someone who edited it.")
@click.option(
    "--topic",
    "topic_slugs",
    multiple=True,
    help="Topic slug the approval covers (repeatable; default: the issue's topics).",
)
@click.option("--segment", "segment_pairs", multiple=True, metavar="KEY=VALUE",
              help="Attribute filter the approval covers (repeatable).")  # fmt: skip
@click.option("--comment", default="", help="A comment for the issue's authors.")
def approve_command(
    issue_id: int,
    email: str,
    topic_slugs: tuple[str, ...],
    segment_pairs: tuple[str, ...],
    comment: str,
) -> None:
    """Approve an issue's latest revision for an audience, as a staff user."""
    segment = {}
    for pair in segment_pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"Write each --segment as KEY=VALUE, not {pair!r}.")
        segment[key.strip()] = value.strip()
    with get_database().session() as session:
        issue = get_issue(session, issue_id)
        topics = topics_by_slugs(session, list(topic_slugs)) if topic_slugs else issue.topics
        approver = _staff(session, email)
        topic_ids = [topic.id for topic in topics]
        approve(session, issue, approver, topic_ids, segment or None, comment=comment)
        names = ", ".join(topic.slug for topic in topics)
        click.echo(f"Approved issue {issue.id} revision {issue.revision} for {names}.")


@group.command("return")
@click.argument("issue_id", type=int)
@click.option("--as", "email", required=True, help="The approver returning it.")
@click.option("--comment", default="", help="What the authors should change.")
def return_command(issue_id: int, email: str, comment: str) -> None:
    """Return an issue in review (or approved) to draft, with a comment for its authors."""
    with get_database().session() as session:
        issue = get_issue(session, issue_id)
        return_to_draft(session, issue, _staff(session, email), comment)
        click.echo(f"Issue {issue.id} is a draft again.")


def init_app(app: Flask) -> None:
    """Register the ``issues`` command group."""
    app.cli.add_command(group)
