"""The SMTP backend against the local sink: reuse, TCP_NODELAY, reply mapping, drops, TLS, auth."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.config import Settings
from engine.delivery.base import (
    BackendAuthError,
    OutcomeUnknownError,
    OutgoingMessage,
    ResultStatus,
)
from engine.delivery.smtp import SmtpBackend, parse_smtp_url
from tests.fakes.smtp_sink import SinkConfig, SmtpSink, tls_contexts


def message(n: int, to: str | None = None) -> OutgoingMessage:
    return OutgoingMessage(
        delivery_id=n,
        to_address=to or f"reader{n}@example.org",
        to_name=f"Reader {n}",
        from_address="Pinwheel <newsletters@pinwheel.example.org>",
        subject="Spotlight On: Kinship Care",
        html=f"<p>Hello {n}</p>\n.<p>leading dot</p>",
        text=f"Hello {n}\n.\n",
        headers={"Message-ID": f"<c1.s{n}@pinwheel.example.org>"},
    )


def backend_for(url: str, **kwargs: object) -> SmtpBackend:
    return SmtpBackend(Settings(SMTP_URL=url), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    return tls_contexts(tmp_path)


def test_many_messages_share_one_connection(sink: SmtpSink) -> None:
    backend = backend_for(sink.url())
    results = backend.send_batch([message(n) for n in range(40)])
    results += backend.send_batch([message(n) for n in range(40, 60)])
    backend.close()
    assert [r.status for r in results] == [ResultStatus.ACCEPTED] * 60
    assert results[3].provider_message_id == "<c1.s3@pinwheel.example.org>"
    assert sink.connections == 1
    assert sink.quits == 1
    assert [m.recipients for m in sink.messages][:2] == [
        ("reader0@example.org",),
        ("reader1@example.org",),
    ]
    parsed = email.message_from_bytes(sink.messages[5].data, policy=email.policy.default)
    plain, html = parsed.iter_parts()
    # Text travels in canonical form: every line break is CRLF.
    assert plain.get_content() == "Hello 5\r\n.\r\n"
    assert html.get_content() == "<p>Hello 5</p>\r\n.<p>leading dot</p>"


def test_tcp_nodelay_is_set_on_the_connection(sink: SmtpSink) -> None:
    backend = backend_for(sink.url())
    backend.send_batch([message(1)])
    assert backend.sock is not None
    assert backend.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    backend.close()


@pytest.mark.parametrize("pipelining", [True, False])
def test_4xx_is_transient_and_5xx_permanent(pipelining: bool) -> None:
    replies = {"busy@example.org": (451, "4.7.1 try later"), "gone@example.org": (550, "5.1.1 no")}
    with SmtpSink(SinkConfig(rcpt_replies=replies, pipelining=pipelining)) as sink:
        backend = backend_for(sink.url())
        batch = [
            message(1),
            message(2, "busy@example.org"),
            message(3, "gone@example.org"),
            message(4),
        ]
        results = backend.send_batch(batch)
        backend.close()
    statuses = [r.status for r in results]
    assert statuses == ["accepted", "failed_transient", "failed_permanent", "accepted"]
    assert results[1].retry_at is not None
    assert results[2].error is not None and results[2].error.startswith("550")
    assert sink.connections == 1
    assert len(sink.messages) == 2


def test_dropped_connection_fails_that_message_and_reconnects() -> None:
    with SmtpSink(SinkConfig(drop_after=3)) as sink:
        backend = backend_for(sink.url())
        results = backend.send_batch([message(n) for n in range(6)])
        backend.close()
    statuses = [r.status for r in results]
    assert statuses == ["accepted"] * 3 + ["failed_transient"] + ["accepted"] * 2
    assert sink.connections == 2
    assert len(sink.messages) == 5


def test_connection_closed_between_batches_is_replaced_silently() -> None:
    with SmtpSink(SinkConfig(drop_after=1)) as sink:
        backend = backend_for(sink.url())
        first = backend.send_batch([message(1)])
        second = backend.send_batch([message(2), message(3)])
        backend.close()
    assert [r.status for r in first + second] == ["accepted"] * 3
    assert sink.connections == 2


def test_drop_after_the_body_is_an_unknown_outcome() -> None:
    with SmtpSink() as sink:
        backend = backend_for(sink.url())
        backend.send_batch([message(1)])
        sink.config.drop_before_reply = True
        with pytest.raises(OutcomeUnknownError) as caught:
            backend.send_batch([message(2), message(3)])
        backend.close()
    assert caught.value.unknown_ids == (2,)
    assert [(r.delivery_id, r.status) for r in caught.value.results] == [(3, "accepted")]
    assert len(sink.messages) == 3


def test_malformed_message_fails_permanently_without_sending(sink: SmtpSink) -> None:
    backend = backend_for(sink.url())
    results = backend.send_batch([message(1, "reader@example.org\r\nBcc: x@example.org")])
    backend.close()
    assert results[0].status == ResultStatus.FAILED_PERMANENT
    assert sink.messages == []


def test_login_with_percent_encoded_credentials() -> None:
    with SmtpSink(SinkConfig(username="news@agency", password="p:ss/w%rd")) as sink:
        url = f"smtp://news%40agency:p%3Ass%2Fw%25rd@127.0.0.1:{sink.port}"
        backend = backend_for(url)
        assert backend.send_batch([message(1)])[0].status == ResultStatus.ACCEPTED
        backend.close()


def test_refused_credentials_raise_backend_auth_error() -> None:
    with SmtpSink(SinkConfig(username="news", password="right")) as sink:
        backend = backend_for(f"smtp://news:wrong@127.0.0.1:{sink.port}")
        with pytest.raises(BackendAuthError):
            backend.send_batch([message(1)])
    assert sink.messages == []


def test_starttls_upgrades_and_keeps_nodelay(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server_context, client_context = tls
    with SmtpSink(SinkConfig(tls_context=server_context)) as sink:
        backend = backend_for(sink.url(query="starttls=1"), ssl_context=client_context)
        results = backend.send_batch([message(n) for n in range(5)])
        assert isinstance(backend.sock, ssl.SSLSocket)
        assert backend.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        backend.close()
    assert [r.status for r in results] == ["accepted"] * 5
    assert sink.connections == 1


def test_implicit_tls(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server_context, client_context = tls
    config = SinkConfig(tls_context=server_context, implicit_tls=True)
    with SmtpSink(config) as sink:
        backend = backend_for(sink.url("smtps"), ssl_context=client_context)
        results = backend.send_batch([message(1), message(2)])
        assert isinstance(backend.sock, ssl.SSLSocket)
        backend.close()
    assert [r.status for r in results] == ["accepted"] * 2


def test_untrusted_certificate_is_a_transient_failure(
    tls: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_context, _ = tls
    with SmtpSink(SinkConfig(tls_context=server_context)) as sink:
        backend = backend_for(sink.url(query="starttls=1"))
        results = backend.send_batch([message(1)])
    assert results[0].status == ResultStatus.FAILED_TRANSIENT
    assert sink.messages == []


def test_parse_smtp_url() -> None:
    target = parse_smtp_url("smtp://us%40er:p%3Ass@mail.example.org:2525?starttls=1&timeout=5")
    assert (target.host, target.port, target.starttls, target.implicit_tls) == (
        "mail.example.org",
        2525,
        True,
        False,
    )
    assert (target.username, target.password, target.timeout) == ("us@er", "p:ss", 5.0)
    assert parse_smtp_url("smtps://relay.example.org").port == 465
    assert parse_smtp_url("smtp://relay.example.org").port == 25
    with pytest.raises(ValueError):
        parse_smtp_url("http://relay.example.org")


@pytest.mark.parametrize("pipelining", [True, False])
def test_refused_sender_is_transient_not_the_recipients_fault(pipelining: bool) -> None:
    config = SinkConfig(mail_reply=(550, "5.7.1 sender not allowed"), pipelining=pipelining)
    with SmtpSink(config) as sink:
        backend = backend_for(sink.url())
        results = backend.send_batch([message(1), message(2)])
        backend.close()
    assert [r.status for r in results] == ["failed_transient"] * 2
    assert sink.messages == []


def test_credentials_refused_mid_batch_do_not_undo_what_was_sent() -> None:
    config = SinkConfig(mail_reply=(530, "5.7.0 authentication required"), mail_reply_after=2)
    with SmtpSink(config) as sink:
        backend = backend_for(sink.url())
        results = backend.send_batch([message(n) for n in range(4)])
        assert [r.status for r in results] == ["accepted"] * 2 + ["failed_transient"] * 2
        with pytest.raises(BackendAuthError):
            backend.send_batch([message(5)])
        backend.close()
    assert len(sink.messages) == 2


@pytest.mark.parametrize("pipelining", [True, False])
def test_mail_from_is_the_message_envelope_sender_then_the_return_path(pipelining: bool) -> None:
    verp = "bounces+7-abcdefghijklmnop@agency.example"
    own = dataclasses.replace(message(7), envelope_sender=verp)
    with SmtpSink(SinkConfig(pipelining=pipelining)) as sink:
        configured = SmtpBackend(
            Settings(SMTP_URL=sink.url(), RETURN_PATH="bounces@agency.example")
        )
        configured.send_batch([own, message(8)])
        configured.close()
        plain = backend_for(sink.url())
        plain.send_batch([message(9)])
        plain.close()
    assert [m.mail_from for m in sink.messages] == [
        verp,
        "bounces@agency.example",
        "newsletters@pinwheel.example.org",
    ]
