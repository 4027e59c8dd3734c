"""Time MIME building, SendGrid request bodies and SMTP throughput over one reused connection."""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from functools import cache
from multiprocessing import Event, Process, Queue
from multiprocessing.synchronize import Event as EventType

from campaigns.content.document import content_from_dict
from campaigns.rendering.render import render_issue
from engine.config import Settings
from engine.delivery.base import OutgoingMessage, TemplateBatch, TemplateRecipient
from engine.delivery.mime import build_mime
from engine.delivery.sendgrid_request import request_body
from engine.delivery.smtp import SmtpBackend
from engine.render.merge import MergeTemplate
from tests.campaigns.rendering.factories import make_context
from tests.campaigns.seed_issues import SPOTLIGHT_000
from tests.fakes.smtp_sink import SmtpSink

SENDER = "Pinwheel Newsletters <newsletters@pinwheel.example.org>"
#: About the 27 KB rendered "Spotlight On…" issue the performance notes were measured with.
HTML = "<tr><td style='padding:8px'>Kinship care keeps children with family - ¡Gracias!</td></tr>\n"
HTML *= 300
TEXT = "Kinship care keeps children with family. Read more: https://pinwheel.example.org/w\n" * 60
SMTP_MESSAGES = 2000
SMTP_BATCH = 200


def _message(n: int) -> OutgoingMessage:
    url = f"https://pinwheel.example.org/u/{n:08d}.token-signature"
    return OutgoingMessage(
        delivery_id=n,
        to_address=f"reader{n}@example.org",
        to_name=f"Réader {n}",
        from_address=SENDER,
        subject="Spotlight On: Kinship Care Month ✨",
        html=HTML,
        text=TEXT,
        headers={
            "Message-ID": f"<c12.s{n}@pinwheel.example.org>",
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


@cache
def _spotlight_templates() -> tuple[MergeTemplate, MergeTemplate]:
    rendered = render_issue(content_from_dict(SPOTLIGHT_000), make_context())
    return MergeTemplate(rendered.html, escape=html.escape), MergeTemplate(rendered.text)


def _spotlight_message(n: int) -> OutgoingMessage:
    """Return the rendered "Spotlight On…" seed issue as recipient ``n``'s message."""
    html_template, text_template = _spotlight_templates()
    base = "https://news.example.org"
    token = f"eyJzIjo{n:08d}In0.aB3dE6.Zk9qL2x0c1dXbVp4"
    values = {
        "first_name": "Ana",
        "name": f"Ana Reader {n}",
        "email": f"ana.reader{n}@example.org",
        "unsubscribe_url": f"{base}/unsubscribe/{token}",
        "preferences_url": f"{base}/preferences/{token}",
        "webview_url": f"{base}/view/addressing-sex-trafficking?t={token}",
    }
    return OutgoingMessage(
        delivery_id=n,
        to_address=values["email"],
        to_name=values["name"],
        from_address=SENDER,
        subject=SPOTLIGHT_000["subject"],
        html=html_template.render(values),
        text=text_template.render(values),
        headers={
            "Message-ID": f"<c12.s{n}@pinwheel.example.org>",
            "List-Unsubscribe": f"<{values['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def _email_message(message: OutgoingMessage) -> bytes:
    mail = EmailMessage()
    mail["From"] = message.from_address
    mail["To"] = formataddr((message.to_name, message.to_address))
    mail["Subject"] = message.subject
    mail["Date"] = formatdate()
    for name, value in message.headers.items():
        mail[name] = value
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    return mail.as_bytes()


def _per_call(function: Callable[[], object], rounds: int) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(rounds):
            function()
        best = min(best, (time.perf_counter() - started) / rounds)
    return best


def bench_mime() -> tuple[str, str, str]:
    """Compare ``build_mime`` with ``EmailMessage.as_bytes()`` on the same message."""
    messages = [_message(n) for n in range(200)]
    fast = _per_call(lambda: [build_mime(m) for m in messages], 5) / len(messages)
    slow = _per_call(lambda: [_email_message(m) for m in messages[:40]], 2) / 40
    figure = f"{fast * 1000:.2f} ms vs {slow * 1000:.2f} ms ({slow / fast:.0f}x)"
    return ("build_mime vs EmailMessage, per message", figure, "≥ 10x faster, ~0.2 ms")


def bench_mime_spotlight() -> tuple[str, str, str]:
    """Time ``build_mime`` on the spotlight seed issue, each message for another recipient."""
    messages = [_spotlight_message(n) for n in range(1000)]
    seconds = _per_call(lambda: [build_mime(m) for m in messages], 1) / len(messages)
    return (
        "build_mime, spotlight seed issue, per recipient",
        f"{seconds * 1000:.3f} ms",
        "< 0.2 ms",
    )


def bench_message_size() -> tuple[str, str, str]:
    """Measure the bytes on the wire of the rendered spotlight seed issue for one recipient."""
    message = _spotlight_message(1)
    size = len(build_mime(message))
    decoded = len(message.text.encode()) + len(message.html.encode())
    figure = f"{size:,} B, {size / decoded:.2f}x its {decoded:,} B of text and HTML"
    # Headers and MIME framing take about 1 KB; base64 bodies alone take 1.35x.
    return ("bytes per message, spotlight seed issue", figure, "<= 1.15x (base64: ~1.39x)")


def bench_sendgrid_body() -> tuple[str, str, str]:
    """Time one ``/v3/mail/send`` body of 1,000 personalizations."""
    recipients = [
        TemplateRecipient(
            n,
            f"reader{n}@example.org",
            f"Reader {n}",
            {"first_name": f"Reader{n}", "unsubscribe_url": f"https://p.example.org/u/{n:08d}"},
            {"List-Unsubscribe": f"<https://p.example.org/u/{n:08d}>"},
            {"campaign_id": "12"},
        )
        for n in range(1000)
    ]
    batch = TemplateBatch(SENDER, "Spotlight On: Kinship Care", HTML, TEXT, recipients)
    seconds = _per_call(lambda: request_body(batch, recipients), 10)
    size = len(request_body(batch, recipients)) / 1024
    return (
        "SendGrid body, 1,000 personalizations",
        f"{seconds * 1000:.1f} ms, {size:.0f} KiB",
        "< 12 ms",
    )


def _serve_sink(ports: Queue[int], counts: Queue[int], stop: EventType) -> None:
    with SmtpSink() as sink:
        ports.put(sink.port)
        stop.wait()
        counts.put(len(sink.messages))


def bench_smtp(
    messages: Sequence[OutgoingMessage] = (),
    label: str = "SMTP to local sink, one reused connection",
) -> tuple[str, str, str]:
    """Send messages to a sink in another process over one connection; report messages/s."""
    messages = messages or [_message(n) for n in range(SMTP_MESSAGES)]
    ports: Queue[int] = Queue()
    counts: Queue[int] = Queue()
    stop = Event()
    # A separate process, as a real relay would be: an in-process sink would share our GIL.
    child = Process(target=_serve_sink, args=(ports, counts, stop), daemon=True)
    child.start()
    backend = SmtpBackend(Settings(SMTP_URL=f"smtp://127.0.0.1:{ports.get(timeout=10)}"))
    started = time.perf_counter()
    for start in range(0, SMTP_MESSAGES, SMTP_BATCH):
        backend.send_batch(messages[start : start + SMTP_BATCH])
    elapsed = time.perf_counter() - started
    backend.close()
    stop.set()
    received = counts.get(timeout=10)
    child.join(timeout=10)
    if received != SMTP_MESSAGES:
        raise AssertionError(f"the sink received {received} of {SMTP_MESSAGES} messages")
    rate = f"{SMTP_MESSAGES / elapsed:.0f} msg/s"
    return (label, rate, ">= 800 msg/s")


def bench_smtp_spotlight() -> tuple[str, str, str]:
    """Send the rendered spotlight seed issue, personalized for each recipient, to the sink."""
    messages = [_spotlight_message(n) for n in range(SMTP_MESSAGES)]
    return bench_smtp(messages, "SMTP to local sink, spotlight seed issue")


def run() -> list[tuple[str, str, str]]:
    """Run the delivery benchmarks and return (name, figure, target) rows."""
    return [
        bench_mime(),
        bench_mime_spotlight(),
        bench_message_size(),
        bench_sendgrid_body(),
        bench_smtp(),
        bench_smtp_spotlight(),
    ]


if __name__ == "__main__":
    for name, figure, target in run():
        print(f"{name}: {figure} (target {target})")
