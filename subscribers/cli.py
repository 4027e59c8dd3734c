"""``pinwheel topics …`` and ``pinwheel subscribers …``: topics, import, export, confirmations."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from babel import Locale
from flask import Flask, current_app

from engine import audit
from engine.cli import FeatureGroup, fail
from engine.db import get_database
from engine.web import get_settings
from subscribers.confirmations import drain_due_confirmations
from subscribers.exporting import export_csv
from subscribers.importing import ErrorReport, SubscriberImport
from subscribers.models import OptIn, TopicVisibility
from subscribers.topics import (
    TRANSLATED_LANGUAGES,
    TRANSLATED_PARTS,
    create_topic,
    ensure_default_topics,
    list_topics,
    topics_by_slugs,
    update_topic,
)

topics_group = FeatureGroup("topics", help="Topics readers can subscribe to.")
subscribers_group = FeatureGroup("subscribers", help="Subscribers: import and export.")
_Command = TypeVar("_Command", bound=Callable[..., Any])


def _translation_options(command: _Command) -> _Command:
    """Add ``--name-es``, ``--description-es`` and ``--category-es`` (per other language)."""
    for code in reversed(TRANSLATED_LANGUAGES):
        language = Locale.parse(code).english_name
        command = click.option(
            f"--category-{code}", default=None, help=f"The category in {language}."
        )(command)
        command = click.option(
            f"--description-{code}", default=None, help=f"The description in {language}."
        )(command)
        command = click.option(
            f"--name-{code}",
            default=None,
            help=f"The name in {language} (left empty, {language} readers see the English).",
        )(command)
    return command


def _translations(options: dict[str, str | None]) -> dict[str, dict[str, str]]:
    """Return the other languages' forms the options gave (only those given)."""
    found: dict[str, dict[str, str]] = {}
    for code in TRANSLATED_LANGUAGES:
        for part in TRANSLATED_PARTS:
            value = options.pop(f"{part}_{code}", None)
            if value is not None:
                found.setdefault(code, {})[part] = value
    return found


@topics_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def topics_list(as_json: bool) -> None:
    """List topics by category."""
    with get_database().session() as session:
        topics = list_topics(session)
        rows = [
            {"slug": t.slug, "name": t.name, "category": t.category, "visibility": t.visibility,
             "opt_in": t.opt_in, "description": t.description, "translations": t.translations}
            for t in topics
        ]  # fmt: skip
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(
            f"{row['slug']:<28} {row['name']:<32} {row['category'] or '-':<28} "
            f"{row['visibility']:<8} {row['opt_in']}"
        )


@topics_group.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Name shown to readers.")
@click.option("--category", default="", help="Group on the public pages.")
@click.option("--description", default="", help="One or two sentences for the public pages.")
@click.option("--private", is_flag=True, help="Hide from the public pages.")
@click.option("--single-opt-in", is_flag=True, help="Start without a confirmation email.")
@_translation_options
def topics_create(
    slug: str,
    name: str,
    category: str,
    description: str,
    private: bool,
    single_opt_in: bool,
    **translated: str | None,
) -> None:
    """Create a topic."""
    with get_database().session() as session:
        topic = create_topic(
            session,
            slug,
            name,
            category=category,
            description=description,
            visibility=TopicVisibility.PRIVATE if private else TopicVisibility.PUBLIC,
            opt_in=OptIn.SINGLE if single_opt_in else OptIn.DOUBLE,
            translations=_translations(translated),
        )
        click.echo(f"Created topic {topic.slug} ({topic.visibility}, {topic.opt_in} opt-in).")


@topics_group.command("update")
@click.argument("slug")
@click.option("--name", default=None, help="Name shown to readers.")
@click.option("--category", default=None, help="Group on the public pages.")
@click.option("--description", default=None, help="One or two sentences for the public pages.")
@click.option("--visibility", type=click.Choice([v.value for v in TopicVisibility]), default=None)
@click.option("--opt-in", type=click.Choice([o.value for o in OptIn]), default=None)
@_translation_options
def topics_update(slug: str, **options: str | None) -> None:
    """Change a topic; only the options given change (an empty value clears a translation)."""
    translations = _translations(options)
    changes: dict[str, Any] = {key: value for key, value in options.items() if value is not None}
    if translations:
        changes["translations"] = translations
    if not changes:
        fail("Nothing to change: give at least one option, e.g. --name-es.")
    with get_database().session() as session:
        topic = update_topic(session, topics_by_slugs(session, [slug])[0], changes)
        click.echo(f"Updated topic {topic.slug}.")


@topics_group.command("seed")
def topics_seed() -> None:
    """Create the agency's starting topics that are missing (safe to run again)."""
    with get_database().session() as session:
        created = ensure_default_topics(session)
        click.echo(f"Created {len(created)} topic(s).")


@subscribers_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--topic", "topic_slugs", multiple=True, help="Subscribe every row (repeatable).")
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the error report (default: FILE.errors.csv).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def subscribers_import(
    file: Path, topic_slugs: tuple[str, ...], errors_path: Path | None, as_json: bool
) -> None:
    """Import subscribers from a CSV file with an email column."""
    if not file.is_file():
        fail(f"No such file: {file}")
    errors_path = errors_path or file.with_name(file.name + ".errors.csv")
    with get_database().session() as session:
        topics = topics_by_slugs(session, list(topic_slugs))
        with file.open("rb") as stream, errors_path.open("w", newline="", encoding="utf-8") as out:
            importer = SubscriberImport(
                session,
                topics,
                report=ErrorReport(out),
                source="import",
                smtputf8=get_settings().SMTPUTF8,
            )
            for _ in importer.run(stream):
                session.commit()
        audit.record(
            session, "cli", "subscribers.import", None, file=file.name, **importer.summary.as_dict()
        )
    summary = importer.summary.as_dict()
    if as_json:
        click.echo(json.dumps({**summary, "error_report": str(errors_path)}))
    else:
        click.echo(
            "Created {created}, updated {updated}, skipped {skipped}, errors {errors}.".format(
                **summary
            )
        )
        if summary["errors"]:
            click.echo(f"Error report: {errors_path}")


@subscribers_group.command("export")
@click.option("--topic", "topic_slug", default=None, help="Only subscribers of this topic.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")  # fmt: skip
def subscribers_export(topic_slug: str | None, out_path: Path | None) -> None:
    """Export subscribers as CSV (cells that look like formulas are escaped)."""
    database = get_database()
    with database.session() as session:
        topic_id = topics_by_slugs(session, [topic_slug])[0].id if topic_slug else None
    # Read page by page in short transactions: the site keeps writing during a long export.
    chunks = export_csv(database.read_sessionmaker, topic_id)
    if out_path is None:
        for chunk in chunks:
            sys.stdout.write(chunk)
        return
    with out_path.open("w", newline="", encoding="utf-8") as out:
        for chunk in chunks:
            out.write(chunk)
    click.echo(f"Wrote {out_path}.", err=True)


@subscribers_group.command("send-confirmations")
def subscribers_send_confirmations() -> None:
    """Send the double opt-in emails waiting now (the scheduler does this every few seconds)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    run = drain_due_confirmations(
        get_database(app), get_settings(app), seconds=math.inf, rest_per_round=0
    )
    click.echo(f"{run.sent} sent, {run.retrying} to retry later, {run.given_up} given up.")


def init_app(app: Flask) -> None:
    """Register the command groups."""
    app.cli.add_command(topics_group)
    app.cli.add_command(subscribers_group)
