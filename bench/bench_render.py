"""Benchmark issue rendering: compile once and personalize many, against re-rendering each."""

from __future__ import annotations

import html
import statistics
import time
from collections.abc import Callable

from campaigns.content.document import IssueContent, Layout, content_from_dict
from campaigns.rendering.render import RenderContext, build_mjml, render_issue
from engine.render.merge import MergeTemplate
from engine.render.mjml import compile_mjml

COMPILE_RUNS = 200
RECIPIENTS = 100_000
# mjml-python compiles in ~100 ms, so 1,000 naive re-renders would take minutes; 50 are
# enough for a stable per-recipient figure to extrapolate from.
NAIVE_RECIPIENTS = 50

CONTEXT = RenderContext(
    base_url="https://news.example.org",
    sender_name="Office of Family Communications",
    sender_address="news@example.org",
    postal_address="200 Capitol Avenue, Springfield, IL 62701",
    archive_url="/archive/bench",
    subscribe_url="/subscribe",
)


def _sample_issue() -> IssueContent:
    """Build a spotlight issue of the size staff publish (about 26 KB of HTML)."""
    paragraph = (
        "Families do best when communities give them steady support. This month we share "
        "practical steps, tools and training that help caseworkers and partners act early. "
    )
    blocks: list[dict] = [
        {"id": "hello", "type": "paragraph", "text": "Dear {{ first_name|colleague }},"}
    ]
    for section in range(5):
        blocks += [
            {"id": f"h{section}", "type": "heading", "text": f"Section {section + 1}", "level": 2},
            {
                "id": f"p{section}",
                "type": "paragraph",
                "text": paragraph * 3,
                "refs": [section + 1],
            },
            {"id": f"b{section}", "type": "bullets", "items": [{"text": paragraph}] * 2},
            {
                "id": f"r{section}",
                "type": "resources",
                "title": f"Resources {section + 1}",
                "level": 3,
                "items": [
                    {
                        "title": f"Guide {n}",
                        "url": f"https://example.org/g{n}",
                        "kind": "pdf",
                        "size": "300 KB",
                    }
                    for n in range(3)
                ],
            },
        ]
    blocks.append(
        {
            "id": "refs",
            "type": "references",
            "items": [{"number": n, "text": f"Source {n}."} for n in range(1, 6)],
        }
    )
    return content_from_dict({"title": "Benchmark Spotlight", "kicker": "Spotlight On...",
                              "subject": "Benchmark issue", "layout": Layout.SPOTLIGHT.value,
                              "preheader": "A realistic issue used to measure rendering speed.",
                              "blocks": blocks})  # fmt: skip


def _p95_ms(action: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.quantiles(samples, n=20)[18]


def _recipient(index: int) -> dict[str, str]:
    return {
        "first_name": f"Pat{index}",
        "email": f"pat{index}@example.org",
        "unsubscribe_url": f"https://news.example.org/u/{index:08d}",
        "preferences_url": f"https://news.example.org/p/{index:08d}",
        "webview_url": f"https://news.example.org/v/{index:08d}",
    }


def _personalize_seconds(page: str, recipients: int) -> float:
    template = MergeTemplate(page, escape=html.escape)
    values = [_recipient(i) for i in range(1_000)]
    start = time.perf_counter()
    for index in range(recipients):
        template.render(values[index % 1_000])
    return time.perf_counter() - start


def _naive_seconds(content: IssueContent, recipients: int) -> float:
    start = time.perf_counter()
    for index in range(recipients):
        page = render_issue(content, CONTEXT).html
        for key, value in _recipient(index).items():
            page = page.replace(f"%%{key}%%", html.escape(value))
    return time.perf_counter() - start


def run(naive_recipients: int = NAIVE_RECIPIENTS) -> list[tuple[str, str, str]]:
    """Measure compile time, per-recipient personalization and the naive baseline; return rows."""
    content = _sample_issue()
    source = build_mjml(content, CONTEXT)
    page = render_issue(content, CONTEXT).html
    compile_p95 = _p95_ms(lambda: compile_mjml(source), COMPILE_RUNS)
    fast = _personalize_seconds(page, RECIPIENTS)
    naive = _naive_seconds(content, naive_recipients) * (RECIPIENTS / naive_recipients)
    size = f"{len(page.encode()) / 1024:.0f} KB"
    return [
        (
            f"compile MJML, one {size} issue (p95 of {COMPILE_RUNS})",
            f"{compile_p95:.1f} ms",
            "< 1 ms",
        ),
        (f"personalize {RECIPIENTS:,} recipients (MergeTemplate)", f"{fast:.2f} s", "< 1 s"),
        (
            f"re-render per recipient ({naive_recipients:,} measured, extrapolated to "
            f"{RECIPIENTS:,})",
            f"{naive:.0f} s",
            "baseline",
        ),
        ("speed-up of compile-once over re-render", f"{naive / fast:.0f}x", "> 20x"),
    ]


if __name__ == "__main__":
    for name, figure, target in run():
        print(f"{name:<70} {figure:>10}   target {target}")
