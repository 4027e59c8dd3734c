"""Time DKIM signing: per message, and SMTP msg/s signed beside unsigned against one sink."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
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

#: Each variant sends the messages this many times, the variants taking turns in a rotating
#: order; the median counts and the spread is shown (the machine is shared and noisy).
ROUNDS = 7
DOMAIN = "pinwheel.example.org"


def bench_sign() -> list[tuple[str, str, str]]:
    """Time one signature by ``DkimSigner`` against dkimpy's ``dkim.sign``, and as SMTP signs."""
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
    rows = [("DKIM rsa-sha256 sign vs dkim.sign, per message", figure, "< 0.4 ms")]
    # What the SMTP path's signing thread does: a built body is hashed as it stands.
    spotlight = [build_mime(_spotlight_message(n)) for n in range(200)]
    times = [
        _best(partial(_sign_all, DkimSigner(generate_key(key_type), "s1", DOMAIN), spotlight))
        / len(spotlight)
        for key_type in KEY_TYPES
    ]
    figure = " / ".join(f"{seconds * 1000:.2f} ms" for seconds in times)
    label = f"DKIM sign as SMTP does, spotlight seed issue: {' / '.join(KEY_TYPES)}"
    rows.append((label, figure, ""))
    return rows


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
        rates: dict[str, list[float]] = {name: [] for name in variants}
        names = list(variants)
        for turn in range(ROUNDS):
            # A rotating order: no variant always runs first, or always after the same one.
            for name in names[turn % len(names) :] + names[: turn % len(names)]:
                rates[name].append(_rate(variants[name], messages))
    stop.set()
    received = counts.get(timeout=10)
    child.join(timeout=10)
    if received != SMTP_MESSAGES * ROUNDS * len(variants):
        raise AssertionError(f"the sink received {received} messages")
    unsigned = rates["unsigned"]
    rows = [
        (
            f"SMTP to local sink, unsigned, {label}",
            f"{statistics.median(unsigned):.0f} msg/s ({_spread(unsigned)})",
            ">= 800 msg/s",
        )
    ]
    for key_type, algorithm in (("rsa", "rsa-sha256, 2048 bits"), ("ed25519", "ed25519-sha256")):
        signed = rates[key_type]
        # Each round's signed run against the unsigned run of the same round, next to it in
        # time: the machine's load drifts less between those than over the whole benchmark.
        costs = sorted(1 - rate / base for rate, base in zip(signed, unsigned, strict=True))
        figure = (
            f"{statistics.median(signed):.0f} msg/s ({_spread(signed)}), "
            f"{statistics.median(costs):.0%} below unsigned "
            f"(rounds {costs[0]:.0%} to {costs[-1]:.0%})"
        )
        rows.append((f"SMTP with DKIM ({algorithm}), {label}", figure, "cost < 25 %"))
    return rows


def _sign_all(signer: DkimSigner, raws: list[bytes]) -> None:
    for raw in raws:
        signer.sign(raw, relaxed_body=True)


def _spread(rates: list[float]) -> str:
    return f"{min(rates):.0f}-{max(rates):.0f} over {len(rates)} rounds"


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
    print(f"bench_dkim: load average {os.getloadavg()[0]:.2f} at the start", file=sys.stderr)
    return [
        *bench_sign(),
        *bench_smtp_signed(),
        *bench_smtp_signed(_spotlight_message, "the spotlight seed issue"),
    ]


if __name__ == "__main__":
    for name, figure, target in run():
        print(f"{name}: {figure} (target {target})")
