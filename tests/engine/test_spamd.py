"""The spamd client against a tiny fake spamd on 127.0.0.1 that answers REPORT as spamd does."""

from __future__ import annotations

import socket

import pytest

from engine.config import ConfigError, load_settings
from engine.spamd import SpamdError, parse_spamd_url, report_rules, score_message
from tests.fakes.spamd_server import fake_spamd, spamd_reply

MESSAGE = b"From: a@example.org\r\nSubject: Hello\r\n\r\nBody\r\n"


def test_report_gives_score_threshold_and_rules():
    with fake_spamd(spamd_reply()) as (url, received):
        report = score_message(url, MESSAGE)
    head, _, body = received[0].partition(b"\r\n\r\n")
    assert head.split(b"\r\n") == [b"REPORT SPAMC/1.5", b"Content-length: %d" % len(MESSAGE)]
    assert body == MESSAGE
    assert (report.score, report.threshold, report.is_spam) == (2.8, 5.0, False)
    assert [(rule.name, rule.points) for rule in report.rules] == [
        ("NO_RECEIVED", -0.0),
        ("MORE_SEX", 2.8),
        ("MAILING_LIST_MULTI", -1.0),
    ]
    assert report.rules[2].description == "Multiple indicators imply a widely-seen list manager"


def test_a_spam_verdict_is_read():
    with fake_spamd(spamd_reply(verdict="True ; 7.5 / 5.0")) as (url, _):
        report = score_message(url, MESSAGE)
    assert (report.score, report.is_spam) == (7.5, True)


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", "not spamd's"),
        (b"SPAMD/1.0 76 Bad header line: x\r\n\r\n", "refused"),
        (b"SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\n\r\n", "no score"),
        (b"", "not spamd's"),
    ],
)
def test_answers_that_are_not_reports_raise(reply, says):
    with fake_spamd(reply) as (url, _), pytest.raises(SpamdError, match=says):
        score_message(url, MESSAGE)


def test_a_daemon_that_is_not_there_raises():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    with pytest.raises(SpamdError, match=f"127.0.0.1:{port} did not answer"):
        score_message(f"spamd://127.0.0.1:{port}", MESSAGE)


def test_url_defaults_and_refusals():
    target = parse_spamd_url("spamd://127.0.0.1")
    assert (target.host, target.port, target.timeout) == ("127.0.0.1", 783, 10.0)
    assert parse_spamd_url("spamd://[::1]:7830?timeout=2").port == 7830
    with pytest.raises(ValueError, match="spamd://"):
        parse_spamd_url("http://127.0.0.1:783")
    with pytest.raises(SpamdError):
        score_message("spamd://127.0.0.1:783?timeout=soon", MESSAGE)


def test_report_rules_ignore_the_text_above_the_table():
    assert report_rules("pts 3.0 NOT_A_RULE in the preamble\n") == []


def test_the_setting_takes_only_spamd_urls():
    settings = load_settings({"PINWHEEL_SPAMD_URL": "spamd://127.0.0.1:783"}, SECRET_KEY="s" * 32)
    assert settings.SPAMD_URL == "spamd://127.0.0.1:783"
    with pytest.raises(ConfigError, match="PINWHEEL_SPAMD_URL must be an absolute spamd URL"):
        load_settings({"PINWHEEL_SPAMD_URL": "127.0.0.1:783"}, SECRET_KEY="s" * 32)
