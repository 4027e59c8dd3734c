"""``pinwheel campaigns …``: thin commands, one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest

from campaigns.sending.models import CampaignStatus
from tests.campaigns.sending.conftest import make_audience, make_issue
from tests.factories import make_user


@pytest.fixture
def campaign_id(session, topic, new_campaign) -> int:
    make_audience(session, topic, 3)
    campaign = new_campaign()
    session.commit()
    return campaign.id


def _run(runner, *args: str):
    return runner.invoke(args=["campaigns", *args], catch_exceptions=False)


def test_create_and_list(runner, session, topic) -> None:
    issue = make_issue(session)
    session.commit()
    result = _run(runner, "create", str(issue.id), "--topic", "practice", "--name", "January")
    assert result.exit_code == 0, result.output
    listed = json.loads(_run(runner, "list", "--json").output)
    assert listed[0]["name"] == "January" and listed[0]["status"] == "draft"
    assert listed[0]["issue_title"] == issue.title
    assert "January" not in _run(runner, "list").output  # the table shows the issue title
    assert issue.title in _run(runner, "list").output


def test_send_runs_to_completion_and_status_reports(runner, campaign_id, outbox) -> None:
    result = _run(runner, "send", str(campaign_id))
    assert result.exit_code == 0, result.output
    assert "3/3 sent" in result.output
    assert len(outbox.sent) == 3
    status = json.loads(_run(runner, "status", str(campaign_id), "--json").output)
    assert status["status"] == CampaignStatus.SENT
    assert status["counts"]["accepted"] == 3 and status["recipients"] == 3
    human = _run(runner, "status", str(campaign_id)).output
    assert "accepted" in human


def test_sending_twice_is_one_line_and_exit_2(runner, campaign_id) -> None:
    _run(runner, "send", str(campaign_id))
    result = _run(runner, "send", str(campaign_id))
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "only be sent once" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("send", "404"),
        ("status", "404"),
        ("pause", "404"),
        ("resume", "404"),
        ("cancel", "404"),
        ("uncertain", "404"),
        ("resend-uncertain", "404"),
        ("test-send", "404", "--to", "a@example.org"),
    ],
)
def test_unknown_campaign_is_one_line_and_exit_2(runner, args) -> None:
    result = _run(runner, *args)
    assert result.exit_code == 2
    assert result.output.strip() == "Error: There is no campaign 404."


def test_create_with_unknown_issue_or_topic(runner, session) -> None:
    assert _run(runner, "create", "77", "--topic", "x").exit_code == 2
    issue = make_issue(session)
    session.commit()
    result = _run(runner, "create", str(issue.id), "--topic", "nope")
    assert result.exit_code == 2 and "Unknown topic(s): nope." in result.output


def test_pause_resume_cancel_and_uncertain(runner, campaign_id) -> None:
    assert _run(runner, "pause", str(campaign_id)).exit_code == 2  # a draft is not sending
    assert _run(runner, "cancel", str(campaign_id)).exit_code == 0
    assert json.loads(_run(runner, "uncertain", str(campaign_id), "--json").output) == []
    refused = _run(runner, "resend-uncertain", str(campaign_id))
    assert refused.exit_code == 2 and "cancelled" in refused.output


def test_test_send_command(runner, campaign_id, outbox, session) -> None:
    make_user(session, role="editor", email="editor@agency.example.org")
    session.commit()
    result = _run(runner, "test-send", str(campaign_id), "--to", "editor@agency.example.org")
    assert result.exit_code == 0 and "accepted" in result.output
    assert [m.to_address for m in outbox.sent] == ["editor@agency.example.org"]


@pytest.fixture
def worker_calls(monkeypatch) -> list[tuple[str, int]]:
    """Record which worker ``pinwheel worker`` would run, and how wide, instead of running it."""
    import engine.celery_app
    from campaigns.sending import cli

    calls: list[tuple[str, int]] = []
    monkeypatch.setattr(cli, "relax_garbage_collection", lambda: None)
    monkeypatch.setattr(cli, "recover_and_dispatch", lambda database, settings: 0)
    monkeypatch.setattr(
        cli, "run_worker", lambda database, settings, once, threads: calls.append(("pool", threads))
    )
    monkeypatch.setattr(
        engine.celery_app,
        "run_worker",
        lambda settings, concurrency: calls.append(("celery", concurrency)),
    )
    return calls


def _with_broker(app) -> None:
    settings = app.extensions["pinwheel.settings"]
    app.extensions["pinwheel.settings"] = settings.with_overrides(
        BROKER_URL="redis://127.0.0.1:6379/12"
    )


@pytest.mark.parametrize(
    ("args", "size"),
    [([], 2), (["--concurrency", "3"], 3), (["--threads", "4"], 4), (["--concurrency", "5"], 5)],
)
def test_worker_concurrency(app, runner, worker_calls, args: list[str], size: int) -> None:
    assert runner.invoke(args=["worker", *args]).exit_code == 0
    _with_broker(app)
    assert runner.invoke(args=["worker", *args]).exit_code == 0
    assert worker_calls == [("pool", size), ("celery", size)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--concurrency", "0"], "Invalid value for '--concurrency'"),
        (["--threads", "-1"], "Invalid value for '--threads'"),
        (["--concurrency", "2", "--threads", "3"], "--threads is the old name of --concurrency"),
    ],
)
def test_worker_refuses_bad_concurrency(runner, worker_calls, args: list[str], message) -> None:
    result = runner.invoke(args=["worker", *args])
    assert result.exit_code == 2 and message in result.output
    assert worker_calls == []


def test_worker_once_needs_the_in_process_pool(app, runner, worker_calls) -> None:
    _with_broker(app)
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 2 and "--once works without a broker only" in result.output
    assert worker_calls == []
