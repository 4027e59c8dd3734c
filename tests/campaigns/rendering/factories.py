"""Builders of issue content and render contexts for the rendering tests."""

from __future__ import annotations

from typing import Any

from campaigns.content.document import IssueContent, content_from_dict
from campaigns.rendering.render import RenderContext, RenderedIssue, render_issue


def make_context(**overrides: Any) -> RenderContext:
    values: dict[str, Any] = {
        "base_url": "https://news.example.org",
        "sender_name": "Office of Family Communications",
        "sender_address": "news@example.org",
        "postal_address": "200 Capitol Avenue, Springfield, IL 62701",
        "archive_url": "/archive/2026/test-issue",
        "subscribe_url": "/subscribe",
    }
    values.update(overrides)
    return RenderContext(**values)


def make_issue(blocks: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Keeping Families Strong",
        "kicker": "Spotlight On...",
        "subject": "Keeping families strong this month",
        "preheader": "Practical ideas and new resources for caseworkers and family partners.",
        "layout": "spotlight",
        "date_label": "March 2026",
        "blocks": blocks
        if blocks is not None
        else [{"id": "p", "type": "paragraph", "text": "Hello."}],
    }
    data.update(fields)
    return data


def render(data: dict[str, Any], **context: Any) -> tuple[IssueContent, RenderedIssue]:
    content = content_from_dict(data)
    return content, render_issue(content, make_context(**context))


ALL_BLOCKS: list[dict[str, Any]] = [
    {"id": "contents", "type": "toc"},
    {
        "id": "lead",
        "type": "paragraph",
        "text": "Dear {{ first_name|colleague }}, *welcome* to the [spring guide](https://example.org/guide).",
        "refs": [1],
    },
    {"id": "why", "type": "heading", "level": 2, "text": "Why prevention works"},
    {"id": "detail", "type": "heading", "level": 3, "text": "What the research says"},
    {
        "id": "points",
        "type": "bullets",
        "items": [
            {"text": "Home visiting reduces risk", "refs": [1, 2]},
            {"text": "Peer groups build support"},
        ],
    },
    {
        "id": "tip",
        "type": "callout",
        "title": "Approach to Consider",
        "body": "Work with the **whole family**.",
        "items": [{"text": "Start with strengths", "refs": [2]}],
    },
    {
        "id": "voice",
        "type": "quote",
        "text": "Families are the experts on their own lives.",
        "attribution": "A parent partner",
    },
    {
        "id": "library",
        "type": "resources",
        "title": "Training and Toolkits",
        "intro": "Free for staff.",
        "items": [
            {
                "title": "Family Engagement Basics",
                "url": "https://example.org/course",
                "kind": "training",
                "description": "Self-paced, 2 hours.",
            },
            {
                "title": "Practice Guide",
                "url": "https://example.org/guide.pdf",
                "kind": "pdf",
                "size": "301 KB",
            },
        ],
    },
    {
        "id": "photo",
        "type": "image",
        "src": "https://example.org/photo.jpg",
        "alt": "A caseworker talks with a parent",
        "width": 560,
        "link": "https://example.org/story",
    },
    {
        "id": "ornament",
        "type": "image",
        "src": "https://example.org/flourish.png",
        "decorative": True,
        "width": 120,
    },
    {
        "id": "cta",
        "type": "button",
        "label": "Register for the webinar",
        "url": "https://example.org/webinar",
    },
    {"id": "rule", "type": "divider"},
    {
        "id": "sources",
        "type": "references",
        "items": [
            {
                "number": 1,
                "text": "Home Visiting Evidence Review (2024).",
                "url": "https://example.org/hv",
            },
            {"number": 2, "text": "Peer Support Study (2023)."},
        ],
    },
]
