"""Time DKIM signing: per message, and SMTP msg/s signed beside unsigned against one sink."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from multiprocessing import Event, Process, Queue
from pathlib import Path

import dkim

from bench.bench_delivery import (
    SMTP_BATCH,
    SMTP_MESSAGES,
    _message,
    _serve_sink,
    _spotlight_message,
)
from engine.config import Settings
from engine.delivery.base import OutgoingMessage
from engine.delivery.dkim import DkimSigner
from engine.delivery.mime import build_mime
from engine.delivery.smtp import SmtpBackend
from engine.dkim_keys import KEY_TYPES, generate_key

#: Each variant runs this many times, interleaved, and the best run counts (a noisy machine).
ROUNDS = 3
DOMAIN = "pinwheel.example.org"


def bench_sign() -> tuple[str, str, str]:
    """Compare one signature by ``DkimSigner`` with dkimpy's ``dkim.sign`` on the same message."""
    raws = [build_mime(_message(n)) for n in range(200)]
    key = generate_key("rsa")
    signer = DkimSigner(key, "s1", DOMAIN)
    pem = key.private_pem()
    ours = _best(lambda: [signer.sign(raw) for raw in raws]) / len(raws)
    theirs = (
        _best(
            lambda: [
                dkim.sign(raw, b"s1", DOMAIN.encode(), pem, canonicalize=(b"relaxed", b"relaxed"))
                for raw in raws[:20]
            ]
        )
        / 20
    )
    figure = f"{ours * 1000:.2f} ms vs {theirs * 1000:.2f} ms ({theirs / ours:.0f}x)"
    return ("DKIM rsa-sha256 sign vs dkim.sign, per message", figure, "< 0.4 ms")


def bench_smtp_signed(
    build: Callable[[int], OutgoingMessage] = _message, label: str = "synthetic message"
) -> list[tuple[str, str, str]]:
    """Send the same messages unsigned and signed (RSA, Ed25519) to one sink process."""
    messages = [build(n) for n in range(SMTP_MESSAGES)]
    ports: Queue[int] = Queue()
    counts: Queue[int] = Queue()
    stop = Event()
    child = Process(target=_serve_sink, args=(ports, counts, stop), daemon=True)
    child.start()
    url = f"smtp://127.0.0.1:{ports.get(timeout=10)}"
    with tempfile.TemporaryDirectory() as folder:
        variants = {"unsigned": Settings(SMTP_URL=url)}
        for key_type in KEY_TYPES:
            path = Path(folder) / f"{key_type}.pem"
            path.write_bytes(generate_key(key_type).private_pem())
            variants[key_type] = Settings(
                SMTP_URL=url, DKIM_SELECTOR="s1", DKIM_PRIVATE_KEY_PATH=str(path)
            )
        rates = {name: 0.0 for name in variants}
        for _ in range(ROUNDS):
            for name, settings in variants.items():
                rates[name] = max(rates[name], _rate(settings, messages))
    stop.set()
    received = counts.get(timeout=10)
    child.join(timeout=10)
    if received != SMTP_MESSAGES * ROUNDS * len(variants):
        raise AssertionError(f"the sink received {received} messages")
    unsigned = rates["unsigned"]
    rows = [(f"SMTP to local sink, unsigned, {label}", f"{unsigned:.0f} msg/s", ">= 800 msg/s")]
    for key_type, algorithm in (("rsa", "rsa-sha256, 2048 bits"), ("ed25519", "ed25519-sha256")):
        cost = 1 - rates[key_type] / unsigned
        figure = f"{rates[key_type]:.0f} msg/s ({cost:.0%} below unsigned)"
        rows.append((f"SMTP with DKIM ({algorithm}), {label}", figure, "cost < 25 %"))
    return rows


def _rate(settings: Settings, messages: list[OutgoingMessage]) -> float:
    backend = SmtpBackend(settings)
    backend.send_batch(messages[:1])
    started = time.perf_counter()
    for start in range(1, SMTP_MESSAGES, SMTP_BATCH):
        backend.send_batch(messages[start : start + SMTP_BATCH])
    elapsed = time.perf_counter() - started
    backend.close()
    return (SMTP_MESSAGES - 1) / elapsed


def _best(function: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def run() -> list[tuple[str, str, str]]:
    """Run the DKIM benchmarks and return (name, figure, target) rows."""
    return [
        bench_sign(),
        *bench_smtp_signed(),
        *bench_smtp_signed(_spotlight_message, "the spotlight seed issue"),
    ]


if __name__ == "__main__":
    for name, figure, target in run():
        print(f"{name}: {figure} (target {target})")
