"""The walking skeleton end to end: demo → send → outbox file → staff UI."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from engine.config import Settings
from subscribers.tokens import Purpose, TokenSigner
from tests.factories import login, make_user


@pytest.fixture
def outbox_app(app: Flask, settings: Settings) -> Flask:
    # The default rule, as `make run` has it: every send needs an approval.
    app.extensions["pinwheel.settings"] = settings.with_overrides(
        MAIL_BACKEND="outbox", APPROVAL_THRESHOLD=0
    )
    return app


def _outbox_files(settings: Settings) -> list[Path]:
    return sorted(settings.outbox_path.glob("*.eml"))


def test_demo_send_outbox_and_staff_ui(
    outbox_app: Flask, runner: FlaskCliRunner, client: FlaskClient, session, settings: Settings
) -> None:
    loaded = runner.invoke(args=["demo"])
    assert loaded.exit_code == 0, loaded.output
    assert "reviewer@example.org" in loaded.output

    listed = runner.invoke(args=["campaigns", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    campaigns = json.loads(listed.output)
    assert len(campaigns) == 1
    ready = campaigns[0]
    assert ready["status"] == "draft"
    assert ready["issue_title"] == "Protecting Youth From Trafficking"

    sent = runner.invoke(args=["campaigns", "send", str(ready["id"])])
    assert sent.exit_code == 0, sent.output

    files = _outbox_files(settings)
    assert len(files) == 50
    messages = [
        email.message_from_bytes(file.read_bytes(), policy=email.policy.default) for file in files
    ]
    # The demo's Spanish readers get its Spanish edition, in the same send.
    spanish = [m for m in messages if '<html lang="es"' in m.get_body(("html",)).get_content()]
    assert len(spanish) == 5
    assert "Proteger a los jóvenes de la trata" in spanish[0].get_body(("html",)).get_content()
    message = next(m for m in messages if m not in spanish)
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)) is not None
    html = message.get_body(("html",)).get_content()
    assert "Protecting Youth From Trafficking" in html
    assert "%%" not in html
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Message-ID"].startswith("<c") and message["Message-ID"].endswith(">")
    url = message["List-Unsubscribe"].split(",")[0].strip().strip("<>")
    assert url.startswith("https://news.example.org/unsubscribe/")
    signer = TokenSigner(settings.SECRET_KEY, settings.TOKEN_MAX_AGE_DAYS)
    subscriber_id, _ = signer.load(Purpose.UNSUBSCRIBE, url.rsplit("/", 1)[1])
    assert subscriber_id > 0

    again = runner.invoke(args=["campaigns", "send", str(ready["id"])])
    assert again.exit_code == 2
    assert "Traceback" not in again.output
    assert len(_outbox_files(settings)) == 50

    admin = make_user(session)
    session.commit()
    login(client, admin)
    page = client.get("/admin/outbox/")
    assert page.status_code == 200
    assert files[0].name in page.get_data(as_text=True)
    shown = client.get(f"/admin/outbox/{files[0].name}")
    assert shown.status_code == 200
    assert "List-Unsubscribe" in shown.get_data(as_text=True)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/issues/").status_code == 200
    assert client.get("/admin/issues/1/preview").status_code == 200


def test_unknown_campaign_is_a_clear_cli_error(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["campaigns", "send", "999"])
    assert result.exit_code == 2
    assert "999" in result.output
    assert "Traceback" not in result.output


def test_unknown_outbox_file_is_404(client: FlaskClient, session) -> None:
    admin = make_user(session)
    session.commit()
    login(client, admin)
    assert client.get("/admin/outbox/nothing.eml").status_code == 404
    assert client.get("/admin/outbox/..%2Fsecret_key").status_code == 404


def test_broken_layout_is_a_clear_error_not_a_crash(
    runner: FlaskCliRunner, client: FlaskClient, session, monkeypatch: pytest.MonkeyPatch
) -> None:
    import campaigns.rendering.render as render_module

    assert runner.invoke(args=["demo"]).exit_code == 0
    monkeypatch.setattr(
        render_module,
        "build_mjml",
        lambda content, context: "<mjml><mj-body><mj-frobnicate /></mj-body></mjml>",
    )
    admin = make_user(session)
    session.commit()
    login(client, admin)
    page = client.get("/admin/issues/1/preview")
    assert page.status_code == 422
    assert "mj-frobnicate" in page.get_data(as_text=True)
    created = runner.invoke(args=["campaigns", "create", "1", "--topic", "human-trafficking"])
    assert created.exit_code == 2
    assert "could not be compiled" in created.output
    assert "Traceback" not in created.output
