"""The settings page, the API and ``pinwheel settings``, and where the settings show: emails,
public pages and the archive."""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from campaigns.demo.content import SPOTLIGHT_ISSUE
from campaigns.issues.compiled import render_stored_issue
from campaigns.issues.service import create_issue
from engine.audit import AuditEntry
from engine.delivery.base import OutgoingMessage
from engine.delivery.sendgrid_request import batches_from_messages, request_body
from engine.organisation_cache import catalogue
from engine.organisation_settings import change_settings
from engine.organisation_store import saved_values as stored_values
from engine.render.accessibility import check_html
from engine.staff_invites import invite_message, invite_user
from engine.users import Role, create_api_token
from engine.web import get_settings
from subscribers.emails import confirmation_message
from tests.engine.test_org_settings import png
from tests.factories import csrf_token_from, login, make_subscriber, make_topic, make_user
from tests.html_validator import html_errors
from tests.system_emails import assert_system_email

FIELD = re.compile(r'<input type="[a-z]+"(?: id="[^"]+")? name="([^"]+)" value="([^"]*)"')
FOOTER = "Received this message from a colleague? [Get News From CB] sent to your inbox."


def saved_values(session: Session) -> dict[str, str]:
    """Return the stored settings, ending the read (on SQLite it holds the write lock)."""
    values = stored_values(session)
    session.rollback()
    return values


def _admin_client(app: Flask, session: Session, role: str = "admin") -> tuple[FlaskClient, str]:
    user = make_user(session, role=role)
    session.commit()
    g.pop("csrf_token", None)
    client = app.test_client()
    login(client, user)
    page = client.get("/admin/")
    return client, csrf_token_from(page.get_data(as_text=True))


def _save(client: FlaskClient, csrf: str, **form: object) -> tuple[int, str]:
    response = client.post(
        "/admin/settings/",
        data={"csrf_token": csrf, **form},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    return response.status_code, response.get_data(as_text=True)


# --- the page ----------------------------------------------------------------------------------


def test_the_page_shows_environment_values_as_defaults(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    client, csrf = _admin_client(app, session)
    page = client.get("/admin/settings/").get_data(as_text=True)
    refused = _save(client, csrf, brand_colour="#ffff00", timezone="Nowhere")[1]
    assert html_errors({"settings": page, "refused": refused}, tmp_path) == []
    assert 'href="/admin/settings/"' in page and ">Settings</a>" in page  # in the navigation
    assert "Empty: “newsletters@pinwheel.example.org”, from PINWHEEL_SENDER_ADDRESS." in page
    assert "Empty: “330 C Street SW, Washington, DC 20201”, from PINWHEEL_POSTAL_ADDRESS." in page
    assert "Empty: “America/New_York”, from PINWHEEL_TIMEZONE." in page
    assert 'name="footer.resource_collection"' in page and 'name="footer.spotlight"' in page
    assert 'name="sender_name" value=""' in page  # nothing saved yet


def test_only_admins_open_the_page(app: Flask, session: Session) -> None:
    client, csrf = _admin_client(app, session, role="editor")
    assert client.get("/admin/settings/").status_code == 403
    assert _save(client, csrf, organisation_name="Mine now")[0] == 403
    assert saved_values(session) == {}


def test_a_saved_name_shows_on_public_pages_and_in_the_audit_log(
    app: Flask, session: Session
) -> None:
    client, csrf = _admin_client(app, session)
    status, page = _save(client, csrf, organisation_name="Child Welfare Information Gateway")
    assert status == 200 and "Settings saved" in page
    assert 'value="Child Welfare Information Gateway"' in page
    subscribe = app.test_client().get("/subscribe").get_data(as_text=True)
    assert "<title>Subscribe · Child Welfare Information Gateway</title>" in subscribe
    assert re.search(r'class="brand"[^>]*>.*Child Welfare Information Gateway</a>', subscribe)
    assert "Child Welfare Newsletters" not in subscribe and "Pinwheel" not in subscribe
    archive = app.test_client().get("/archive").get_data(as_text=True)
    assert "<title>Newsletter archive · Child Welfare Information Gateway</title>" in archive
    entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "settings.change"))
    details = entry.one().details["changes"]
    assert details == {
        "organisation_name": {"before": "", "after": "Child Welfare Information Gateway"}
    }


def test_a_page_opened_before_another_change_does_not_revert_it(
    app: Flask, session: Session
) -> None:
    client, _ = _admin_client(app, session)
    page = client.get("/admin/settings/").get_data(as_text=True)
    form = {name: html.unescape(value) for name, value in FIELD.findall(page)}
    assert form["shown.postal_address"] == form["postal_address"] == ""
    # Meanwhile, someone else saves a postal address from the command line.
    change_settings(session, catalogue(), {"postal_address": "2 Elm St, Dayton, OH"}, actor="cli")
    session.commit()
    form["organisation_name"] = "Gateway"
    response = client.post("/admin/settings/", data=form, follow_redirects=True)
    assert response.status_code == 200
    assert saved_values(session) == {
        "organisation_name": "Gateway",
        "postal_address": "2 Elm St, Dayton, OH",
    }


def test_a_low_contrast_colour_is_refused_and_nothing_is_saved(
    app: Flask, session: Session
) -> None:
    client, csrf = _admin_client(app, session)
    assert _save(client, csrf, postal_address="1 Agency Plaza, Columbus, OH 43215")[0] == 200
    status, page = _save(
        client, csrf, brand_colour="#ffcc00", organisation_name="Half saved?", postal_address=""
    )
    assert status == 422
    assert "<title>Error: Settings · Pinwheel</title>" in page
    assert 'href="#setting-brand_colour"' in page and "WCAG AA needs at least 4.5:1" in page
    assert 'aria-invalid="true"' in page and 'value="Half saved?"' in page  # kept for fixing
    assert saved_values(session) == {"postal_address": "1 Agency Plaza, Columbus, OH 43215"}


def test_a_logo_needs_alt_text_and_then_heads_pages_and_emails(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    client, csrf = _admin_client(app, session)
    logo = (io.BytesIO(png(480, 160)), "logo.png")
    status, page = _save(client, csrf, logo=logo, logo_alt="")
    assert status == 422 and "Write the logo&#39;s alt text" in page
    assert "logo" not in saved_values(session)
    logo = (io.BytesIO(png(480, 160)), "logo.png")
    assert _save(client, csrf, logo=logo, logo_alt="Children's Bureau")[0] == 200
    page = app.test_client().get("/subscribe").get_data(as_text=True)
    found = re.search(r'<img src="(/media/[^"]+)" alt="Children&#39;s Bureau" width="120"', page)
    assert found is not None
    assert app.test_client().get(found.group(1)).status_code == 200
    assert html_errors({"subscribe": page}, tmp_path) == []
    message = invite_message(get_settings(), _invitee(session), "https://x.example/i", "Boss")
    assert re.search(
        r'<img src="https://news\.example\.org/media/[^"]+" alt="Children&#39;s Bureau" '
        r'width="240" height="80"',
        message.html,
    )
    assert "Pinwheel Newsletters · newsletters@pinwheel.example.org" in message.text
    assert check_html(message.html) == []
    page = client.get("/admin/settings/").get_data(as_text=True)
    assert "Remove the logo" in page
    assert _save(client, csrf, remove_logo="1")[0] == 200
    assert "logo" not in saved_values(session)


def _invitee(session: Session) -> object:
    user = invite_user(session, email="new@agency.example.org", role="editor")
    session.commit()
    return user


def test_brand_colours_reach_public_pages_in_light_mode_only(app: Flask, session: Session) -> None:
    assert "<style>" not in app.test_client().get("/subscribe").get_data(as_text=True)
    change_settings(
        session, catalogue(), {"brand_colour": "#6a1b9a", "link_colour": "#00695c"}, actor="cli"
    )
    session.commit()
    page = app.test_client().get("/subscribe").get_data(as_text=True)
    assert (
        "@media not all and (prefers-color-scheme: dark) { :root { --accent: #6a1b9a; } "
        "a { color: #00695c; } }"
    ) in page


# --- emails ------------------------------------------------------------------------------------


def test_system_emails_use_the_saved_sender_postal_address_and_reply_to(
    app: Flask, session: Session
) -> None:
    change_settings(
        session,
        catalogue(),
        {
            "organisation_name": "Child Welfare Information Gateway",
            "sender_name": "Information Gateway",
            "sender_address": "info@gateway.example.gov",
            "reply_to": "help@gateway.example.gov",
            "postal_address": "330 C Street SW, Washington, DC 20201",
            "brand_colour": "#6a1b9a",
        },
        actor="cli",
    )
    session.commit()
    settings = get_settings()
    topic = make_topic(session, name="Foster care")
    reader = make_subscriber(session, "ana@example.org", topics=[topic])
    message = confirmation_message(settings, reader, [topic])
    assert message.from_address == "Information Gateway <info@gateway.example.gov>"
    assert message.headers["Reply-To"] == "help@gateway.example.gov"
    assert message.headers["Message-ID"].endswith("@gateway.example.gov>")
    assert_system_email(message, settings, link_prefix="https://news.example.org/confirm/")
    assert "Child Welfare Information Gateway" in message.text  # the header
    assert "Information Gateway · info@gateway.example.gov" in message.text  # the sender line
    assert "#6a1b9a" in message.html  # the button
    assert "Pinwheel Newsletters" not in message.html


def test_issues_use_the_saved_sender_and_postal_address(app: Flask, session: Session) -> None:
    change_settings(
        session,
        catalogue(),
        {"sender_name": "News From CB", "postal_address": "330 C Street SW, Washington, DC"},
        actor="cli",
    )
    session.commit()
    issue = create_issue(session, dict(SPOTLIGHT_ISSUE))
    rendered = render_stored_issue(get_settings(), issue)
    assert "News From CB" in rendered.text and "330 C Street SW, Washington, DC" in rendered.text
    assert "Pinwheel Newsletters" not in rendered.html
    assert not [check for check in rendered.errors if check.code == "postal_address"]


def test_issues_carry_the_publication_s_footer_sentence_name_and_colours(
    app: Flask, session: Session
) -> None:
    change_settings(
        session,
        catalogue(),
        {
            "footer.spotlight": FOOTER,
            "organisation_name": "Children's Bureau",
            "link_colour": "#00695c",
        },
        actor="cli",
    )
    session.commit()
    issue = create_issue(session, dict(SPOTLIGHT_ISSUE))
    rendered = render_stored_issue(get_settings(), issue)
    assert "Received this from a friend?" not in rendered.html
    assert "Received this message from a colleague?" in rendered.html
    assert ">Get News From CB</a>" in rendered.html
    assert "https://news.example.org/subscribe" in rendered.html
    assert "Children's Bureau" in html.unescape(rendered.html)
    assert "#00695c" in rendered.html.lower()


def test_sendgrid_gets_the_reply_to_in_its_own_field() -> None:
    message = OutgoingMessage(
        delivery_id=0, to_address="ana@example.org", to_name="", from_address="A <a@x.org>",
        subject="S", html="<p>h</p>", text="h",
        headers={"Message-ID": "<m@x.org>", "Reply-To": "Help Desk <help@x.org>"},
    )  # fmt: skip
    (batch,) = batches_from_messages([message])
    body = orjson.loads(request_body(batch, batch.recipients))
    assert body["reply_to"] == {"email": "help@x.org", "name": "Help Desk"}
    assert "headers" not in body
    assert body["personalizations"][0]["headers"] == {"Message-ID": "<m@x.org>"}


# --- time zone ---------------------------------------------------------------------------------


def test_the_default_time_zone_is_the_saved_one(app: Flask, session: Session) -> None:
    client, csrf = _admin_client(app, session)
    status, page = _save(client, csrf, timezone="Mars/Olympus")
    assert status == 422 and "not a time zone name" in page
    assert _save(client, csrf, timezone="America/Los_Angeles")[0] == 200
    assert get_settings().TIMEZONE == "America/Los_Angeles"
    page = client.get("/admin/audit/").get_data(as_text=True)
    assert "PST" in page or "PDT" in page


# --- the API -----------------------------------------------------------------------------------


def _token(session: Session, role: Role) -> dict[str, str]:
    user = make_user(session, role=str(role))
    _, secret = create_api_token(session, user=user, name="robot")
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_the_api_reads_and_changes_settings(client: FlaskClient, session: Session) -> None:
    admin = _token(session, Role.ADMIN)
    shown = client.get("/api/v1/settings", headers=admin).get_json()
    postal = next(item for item in shown["items"] if item["key"] == "postal_address")
    assert postal == {
        "key": "postal_address",
        "label": "Postal address",
        "value": "330 C Street SW, Washington, DC 20201",
        "saved": None,
        "default": "330 C Street SW, Washington, DC 20201",
        "env": "PINWHEEL_POSTAL_ADDRESS",
    }
    assert shown["logo"] is None
    body = {"values": {"organisation_name": "Gateway", "footer.digest": FOOTER}}
    changed = client.patch("/api/v1/settings", json=body, headers=admin)
    assert changed.status_code == 200
    values = {item["key"]: item["value"] for item in changed.get_json()["items"]}
    assert (values["organisation_name"], values["footer.digest"]) == ("Gateway", FOOTER)
    refused = client.patch(
        "/api/v1/settings", json={"values": {"link_colour": "#999999"}}, headers=admin
    )
    assert refused.status_code == 422
    assert "4.5:1" in refused.get_json()["error"]["details"]["link_colour"]
    reset = client.patch(
        "/api/v1/settings", json={"values": {"footer.digest": None}}, headers=admin
    )
    assert reset.status_code == 200 and saved_values(session) == {"organisation_name": "Gateway"}
    editor = _token(session, Role.EDITOR)
    assert client.get("/api/v1/settings", headers=editor).status_code == 403


def test_the_api_uploads_and_removes_the_logo(client: FlaskClient, session: Session) -> None:
    admin = _token(session, Role.ADMIN)
    image = base64.b64encode(png(100, 50)).decode()
    bare = client.put("/api/v1/settings/logo", json={"image": image}, headers=admin)
    assert bare.status_code == 422 and "alt text" in bare.get_json()["error"]["message"]
    garbled = client.put("/api/v1/settings/logo", json={"image": "%%%", "alt": "G"}, headers=admin)
    assert garbled.status_code == 422 and "base64" in garbled.get_json()["error"]["message"]
    body = {"image": image, "alt": "Gateway"}
    uploaded = client.put("/api/v1/settings/logo", json=body, headers=admin)
    assert uploaded.status_code == 200
    logo = uploaded.get_json()["logo"]
    assert (logo["alt"], logo["width"], logo["height"]) == ("Gateway", 100, 50)
    assert logo["url"].startswith("https://news.example.org/media/")
    removed = client.delete("/api/v1/settings/logo", headers=admin)
    assert removed.status_code == 200 and removed.get_json()["logo"] is None


# --- the CLI -----------------------------------------------------------------------------------


def test_the_cli_shows_and_sets_settings(runner: FlaskCliRunner, session: Session) -> None:
    shown = runner.invoke(args=["settings", "show"])
    assert shown.exit_code == 0
    assert re.search(r"timezone\s+America/New_York  \[default, PINWHEEL_TIMEZONE\]", shown.output)
    result = runner.invoke(args=["settings", "set", "organisation_name", "Gateway"])
    assert result.exit_code == 0 and result.output == "organisation_name: Gateway\n"
    assert re.search(r"organisation_name\s+Gateway  \[saved\]", runner.invoke(
        args=["settings", "show"]).output)  # fmt: skip
    bad = runner.invoke(args=["settings", "set", "brand_colour", "#ffff00"])
    assert bad.exit_code == 2 and "WCAG AA" in bad.output and "Traceback" not in bad.output
    unknown = runner.invoke(args=["settings", "set", "colour", "#000"])
    assert unknown.exit_code == 2 and "no setting called 'colour'" in unknown.output
    assert runner.invoke(args=["settings", "unset", "organisation_name"]).exit_code == 0
    assert saved_values(session) == {}
    entries = session.scalars(
        sa.select(AuditEntry.actor).where(AuditEntry.action == "settings.change")
    )
    assert list(entries) == ["cli", "cli"]


def test_the_cli_sets_the_logo_with_its_alt_text(
    runner: FlaskCliRunner, session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "logo.png"
    path.write_bytes(png(200, 100))
    refused = runner.invoke(args=["settings", "set-logo", str(path)])
    assert refused.exit_code == 2 and "alt text" in refused.output
    done = runner.invoke(args=["settings", "set-logo", str(path), "--alt", "Gateway"])
    assert done.exit_code == 0, done.output
    assert saved_values(session)["logo_size"] == "200x100"
    shown = orjson.loads(runner.invoke(args=["settings", "show", "--json"]).output)
    assert {row["key"]: row["value"] for row in shown}["logo_alt"] == "Gateway"
    assert runner.invoke(args=["settings", "remove-logo"]).exit_code == 0
    missing = runner.invoke(args=["settings", "set-logo", str(tmp_path / "none.png")])
    assert missing.exit_code == 2


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_thank_you_page_follows_a_renamed_organisation(app: Flask, session: Session) -> None:
    app.jinja_env.auto_reload = False
    topic = make_topic(session)
    session.commit()
    form = {"email": "new@example.com", "topics": topic.id}
    assert "· Pinwheel Newsletters" in app.test_client().post("/subscribe", data=form).get_data(
        as_text=True
    )
    change_settings(session, catalogue(), {"organisation_name": "Gateway"}, actor="cli")
    session.commit()
    again = app.test_client().post("/subscribe", data={**form, "email": "b@example.com"})
    assert "<title>Thank you · Gateway</title>" in again.get_data(as_text=True)
