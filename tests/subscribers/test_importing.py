"""CSV import and export: streaming, per-row errors, idempotence, formula escaping."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskCliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from engine.db import Database
from engine.errors import ValidationFailed
from subscribers.exporting import export_rows, spreadsheet_safe
from subscribers.importing import ErrorReport, SubscriberImport
from subscribers.models import (
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
    Topic,
)
from subscribers.suppression import suppress, unsubscribe_everywhere
from tests.factories import make_subscriber, make_topic

BAD_KINDS = ("empty", "invalid", "duplicate", "overlong", "encoding")


def messy_file(good: int, bad_each: int) -> bytes:
    """Return CSV bytes with ``good`` valid rows and ``bad_each`` rows of each malformed kind."""
    lines = ["\ufeffEmail Address,First Name,Last Name,Role,state".encode()]
    for n in range(good):
        lines.append(f"reader{n}@Example.org,Pat,Reader {n},caseworker,OH".encode())
    for n in range(bad_each):
        lines.append(b",,,,")
        lines.append(f"not-an-address-{n},Bad,Row,,".encode())
        lines.append(f"READER{n}@example.org,Dup,Row,,".encode())
        lines.append(f"long{n}@example.org,{'x' * 300},Row,,".encode())
        lines.append(f"enc{n}@example.org,Jos\xe9,Row,,".encode("latin-1"))
    return b"\r\n".join(lines) + b"\r\n"


def _import(session: Session, data: bytes, topics: list[Topic], report: io.StringIO | None = None):
    importer = SubscriberImport(session, topics, report=ErrorReport(report))
    for _ in importer.run(io.BytesIO(data)):
        session.commit()
    return importer.summary


def _count(session: Session, model: type) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_nine_thousand_good_rows_and_a_thousand_bad_ones(session: Session) -> None:
    topic = make_topic(session, "foster-care")
    session.commit()
    report = io.StringIO()
    summary = _import(session, messy_file(9000, 200), [topic], report)
    assert summary.as_dict() == {"created": 9000, "updated": 0, "skipped": 0, "errors": 1000}
    assert _count(session, Subscriber) == 9000
    assert _count(session, Subscription) == 9000
    rows = list(csv.DictReader(io.StringIO(report.getvalue())))
    assert len(rows) == 1000 and len({row["row"] for row in rows}) == 1000
    reasons = {row["reason"].split(":")[0] for row in rows}
    assert "the row is empty" in reasons and "not valid UTF-8" in reasons
    assert any(row["reason"].startswith("duplicate of row") for row in rows)
    assert any(row["reason"].startswith("longer than") for row in rows)
    assert any("not a valid email address" in row["reason"] for row in rows)
    encoding = next(row for row in rows if row["reason"] == "not valid UTF-8")
    assert encoding["column"] == "First Name" and encoding["value"] == "Jos\ufffd"
    subscriber = session.scalar(
        sa.select(Subscriber).where(Subscriber.email == "reader7@example.org")
    )
    assert subscriber.name == "Pat Reader 7"
    assert subscriber.attributes == {"Role": "caseworker", "state": "OH"}
    again = _import(session, messy_file(9000, 200), [topic])
    assert again.as_dict() == {"created": 0, "updated": 0, "skipped": 9000, "errors": 1000}


def test_header_mapping_language_timezone_and_bad_values(session: Session) -> None:
    data = (
        b"E-mail,Name,Language,Time Zone,county\n"
        b"a@example.org,Ana,es,America/Chicago,Cook\n"
        b"b@example.org,Bo,klingon!,,\n"
        b"c@example.org,Cy,,Mars/Base,\n"
    )
    report = io.StringIO()
    summary = _import(session, data, [], report)
    assert (summary.created, summary.errors) == (1, 2)
    ana = session.scalar(sa.select(Subscriber))
    assert (ana.name, ana.language, ana.timezone) == ("Ana", "es", "America/Chicago")
    assert ana.attributes == {"county": "Cook"}
    columns = [row["column"] for row in csv.DictReader(io.StringIO(report.getvalue()))]
    assert columns == ["Language", "Time Zone"]


def test_control_characters_in_names_and_attributes_are_row_errors(session: Session) -> None:
    make_subscriber(session, "known@example.org", name="Kim")
    session.commit()
    data = (
        b"email,first name,last name,county\n"
        b"ok@example.org,Ann,Lee,Cook\n"
        b'cr@example.org,"Eve\r\nBcc: all@example.org",Doe,Cook\n'
        b"nul@example.org,Bo,Li,Co\x00ok\n"
        b"tab@example.org,Cy\tPark,,\n"
        b'known@example.org,"Kim\nLee",,\n'
    )
    report = io.StringIO()
    summary = _import(session, data, [], report)
    assert summary.as_dict() == {"created": 1, "updated": 0, "skipped": 0, "errors": 4}
    errors = list(csv.DictReader(io.StringIO(report.getvalue())))
    # Rows are counted in lines: a quoted line break moves the rows after it down by one.
    assert [(row["row"], row["column"]) for row in errors] == [
        ("4", "first/last name"), ("5", "county"), ("6", "first/last name"),
        ("8", "first/last name"),
    ]  # fmt: skip
    assert errors[0]["reason"].startswith("contains a carriage return (U+000D)")
    assert errors[1]["reason"].startswith("contains a null character (U+0000)")
    assert errors[2]["reason"].startswith("contains a tab (U+0009)")
    assert errors[3]["reason"].startswith("contains a line break (U+000A)")
    session.expire_all()
    people = {p.email: p.name for p in session.scalars(sa.select(Subscriber))}
    assert people == {"ok@example.org": "Ann Lee", "known@example.org": "Kim"}


def test_a_control_character_in_a_column_name_refuses_the_file(session: Session) -> None:
    refused = re.escape("Column 2 of the header row ('coun\\tty') contains a tab (U+0009)")
    with pytest.raises(ValidationFailed, match=refused):
        _import(session, b"email,coun\tty\na@example.org,Cook\n", [])
    assert _count(session, Subscriber) == 0


def test_addresses_outside_ascii_before_the_at_are_row_errors(session: Session) -> None:
    data = "email\nlocal-with-\u2019-apostrophe@domain.com\nuser@bücher.example\n".encode()
    report = io.StringIO()
    summary = _import(session, data, [], report)
    assert (summary.created, summary.errors) == (1, 1)
    [error] = list(csv.DictReader(io.StringIO(report.getvalue())))
    assert error["row"] == "2" and error["column"] == "email"
    assert "\u2019 (U+2019 RIGHT SINGLE QUOTATION MARK) before the @" in error["reason"]
    assert session.scalar(sa.select(Subscriber.email)) == "user@xn--bcher-kva.example"


def test_smtputf8_imports_internationalised_addresses(session: Session) -> None:
    importer = SubscriberImport(session, [], smtputf8=True)
    for _ in importer.run(io.BytesIO("email\nzoë@example.com\n".encode())):
        session.commit()
    assert importer.summary.created == 1
    assert session.scalar(sa.select(Subscriber.email)) == "zoë@example.com"


def test_import_never_resubscribes_the_unsubscribed_or_suppressed(session: Session) -> None:
    topic = make_topic(session)
    left = make_subscriber(session, "left@example.org", topics=[topic])
    unsubscribe_everywhere(session, left, "page")
    other = make_topic(session)
    opted_out = make_subscriber(session, "opted@example.org", topics=[other])
    opted_out.subscriptions[0].status = SubscriptionStatus.UNSUBSCRIBED
    suppress(session, "bounced@example.org", SuppressionReason.BOUNCE, source="dsn")
    session.commit()
    data = b"email\nleft@example.org\nbounced@example.org\nopted@example.org\n"
    summary = _import(session, data, [topic, other])
    assert summary.created == 0 and summary.errors == 0
    session.expire_all()
    assert {s.status for s in left.subscriptions} == {SubscriptionStatus.UNSUBSCRIBED}
    assert left.status == SubscriberStatus.UNSUBSCRIBED
    statuses = {s.topic_id: s.status for s in opted_out.subscriptions}
    assert statuses == {other.id: "unsubscribed", topic.id: "confirmed"}
    assert (
        session.scalar(sa.select(Subscriber).where(Subscriber.email == "bounced@example.org"))
        is None
    )


def test_formula_names_stored_as_written_and_escaped_on_export(
    session: Session, database: Database
) -> None:
    data = b'email,name,note\nf@example.org,"=HYPERLINK(""http://x"")",+1\n'
    _import(session, data, [])
    subscriber = session.scalar(sa.select(Subscriber))
    assert subscriber.name == '=HYPERLINK("http://x")'
    session.commit()
    header, row = list(export_rows(database.read_sessionmaker))
    assert row[header.index("name")] == '\'=HYPERLINK("http://x")'
    assert row[header.index("note")] == "'+1"
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert spreadsheet_safe(start + "x") == "'" + start + "x"
    assert spreadsheet_safe("plain") == "plain"


addresses = st.sampled_from([f"p{n}@example.org" for n in range(8)])
rows = st.lists(
    st.tuples(
        addresses, st.sampled_from(["", "Ann", "=cmd", "Bo Li"]), st.sampled_from(["", "en", "es"])
    ),
    max_size=20,
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(first=rows, second=rows, left=st.sets(addresses, max_size=3))
def test_import_is_idempotent_and_never_resurrects(
    session: Session, first: list, second: list, left: set[str]
) -> None:
    for model in (SubscriberEvent, Subscription, Suppression, Subscriber, Topic):
        session.execute(sa.delete(model))
    topic = make_topic(session)
    for address in left:
        unsubscribe_everywhere(session, make_subscriber(session, address, topics=[topic]), "t")
    session.commit()
    for batch in (first, second):
        data = "email,name,language\n" + "".join(f"{a},{n},{lang}\n" for a, n, lang in batch)
        _import(session, data.encode(), [topic])
        snapshot = _snapshot(session)
        repeat = _import(session, data.encode(), [topic])
        assert repeat.created == repeat.updated == 0
        assert _snapshot(session) == snapshot
    for subscriber in session.scalars(sa.select(Subscriber).where(Subscriber.email.in_(left))):
        assert subscriber.status == SubscriberStatus.UNSUBSCRIBED
        assert {s.status for s in subscriber.subscriptions} == {SubscriptionStatus.UNSUBSCRIBED}


def _snapshot(session: Session) -> list[tuple]:
    session.expire_all()
    people = session.scalars(sa.select(Subscriber).order_by(Subscriber.email))
    return [
        (
            p.email,
            p.name,
            p.language,
            p.status,
            sorted((s.topic_id, s.status) for s in p.subscriptions),
        )
        for p in people
    ]


def test_cli_import_and_export(runner: FlaskCliRunner, session: Session, tmp_path: Path) -> None:
    make_topic(session, "foster-care")
    session.commit()
    source = tmp_path / "people.csv"
    source.write_bytes(messy_file(50, 2))
    result = runner.invoke(
        args=["subscribers", "import", str(source), "--topic", "foster-care", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["created"], summary["errors"]) == (50, 10)
    assert len(Path(summary["error_report"]).read_text().splitlines()) == 11
    out = tmp_path / "out.csv"
    result = runner.invoke(
        args=["subscribers", "export", "--topic", "foster-care", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    exported = list(csv.DictReader(out.open()))
    assert len(exported) == 50 and exported[0]["subscription_status"] == "confirmed"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["topics", "create", "Bad Slug", "--name", "X"], "must be lower-case"),
        (["topics", "create", "ok-slug"], "Missing option"),
        (["subscribers", "import", "missing.csv"], "No such file"),
        (["subscribers", "export", "--topic", "nope"], "No topic with the slug 'nope'"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(
    runner: FlaskCliRunner, args: list[str], message: str
) -> None:
    result = runner.invoke(args=args)
    assert result.exit_code == 2
    assert message in result.output
    if "Missing option" not in message:
        assert len(result.output.strip().splitlines()) == 1


def test_cli_import_without_email_column_is_exit_2(runner: FlaskCliRunner, tmp_path: Path) -> None:
    source = tmp_path / "names.csv"
    source.write_text("name\nAnn\n")
    result = runner.invoke(args=["subscribers", "import", str(source)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: The file has no email column: name one column email, e-mail or Email Address."
    ]


def test_cli_topics_create_and_list(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["topics", "create", "foster-care", "--name", "Foster care",
              "--category", "Child welfare practice", "--single-opt-in", "--private"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    listed = json.loads(runner.invoke(args=["topics", "list", "--json"]).output)
    assert listed == [
        {"slug": "foster-care", "name": "Foster care", "category": "Child welfare practice",
         "visibility": "private", "opt_in": "single", "description": "", "translations": {}}
    ]  # fmt: skip
    again = runner.invoke(args=["topics", "create", "foster-care", "--name", "Again"])
    assert again.exit_code == 2 and "already exists" in again.output


def test_cli_topics_seed_is_repeatable(runner: FlaskCliRunner) -> None:
    assert runner.invoke(args=["topics", "seed"]).output.strip() == "Created 4 topic(s)."
    assert runner.invoke(args=["topics", "seed"]).output.strip() == "Created 0 topic(s)."
    listed = json.loads(runner.invoke(args=["topics", "list", "--json"]).output)
    categories = {topic["category"] for topic in listed}
    assert categories == {"Child welfare practice", "Digests"}


def test_erased_subscribers_are_left_out_of_every_export(
    session: Session, database: Database
) -> None:
    topic = make_topic(session)
    make_subscriber(session, "kept@example.org", topics=[topic])
    make_subscriber(session, "erased@example.org", topics=[topic], status=SubscriberStatus.ERASED)
    session.commit()
    for chosen in (None, topic.id):
        header, *rows = list(export_rows(database.read_sessionmaker, chosen))
        assert [row[header.index("email")] for row in rows] == ["kept@example.org"]
