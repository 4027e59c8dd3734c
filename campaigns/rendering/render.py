"""Render an issue once: MJML, compiled HTML with merge tags, plain text and pre-send checks."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from urllib.parse import urljoin

from campaigns.content.document import IssueContent, Theme
from campaigns.content.drafts import Draft
from campaigns.rendering.blocks_mjml import BlockLook, render_blocks
from campaigns.rendering.checks import CheckResult, run_checks
from campaigns.rendering.layouts import environment, layout_spec
from campaigns.rendering.palette import palette_for
from engine.render.accessibility import Severity
from engine.render.branding import Branding
from engine.render.mjml import compile_email
from engine.render.text import html_to_text


@dataclass(frozen=True, slots=True)
class RenderContext:
    """Who sends the issue and where its links point; every URL ends up absolute."""

    base_url: str
    sender_name: str
    sender_address: str
    postal_address: str
    archive_url: str
    subscribe_url: str
    theme: Theme | None = None
    #: The organisation's name, logo, colours and footer sentences (the Settings page).
    branding: Branding = dataclasses.field(default_factory=Branding)
    #: False for an email no web page shows (a welcome): its top line offers none.
    web_view: bool = True

    def absolute(self, url: str) -> str:
        """Resolve `url` against `base_url` (absolute URLs are kept)."""
        return urljoin(self.base_url.rstrip("/") + "/", url)


@dataclass(frozen=True, slots=True)
class RenderedIssue:
    """An issue compiled once; `html` and `text` still carry `%%key%%` merge tags."""

    mjml: str
    html: str
    text: str
    checks: list[CheckResult]

    @property
    def errors(self) -> list[CheckResult]:
        """Return the checks that block a send."""
        return [check for check in self.checks if check.is_error]


def build_mjml(content: IssueContent, context: RenderContext) -> str:
    """Write the MJML source of an issue in its layout."""
    theme = content.theme or context.theme
    palette = palette_for(theme.accent if theme else None, context.branding.palette())
    spec = layout_spec(content.layout)
    fragments = render_blocks(content.blocks, BlockLook(palette, spec.align))
    context = dataclasses.replace(
        context,
        archive_url=context.absolute(context.archive_url),
        subscribe_url=context.absolute(context.subscribe_url),
    )
    template = environment(content.language).get_template(spec.template)
    return template.render(
        content=content,
        context=context,
        theme=theme,
        p=palette,
        align=spec.align,
        fragments=fragments,
        branding=context.branding,
    )


def render_issue(content: IssueContent, context: RenderContext) -> RenderedIssue:
    """Render an issue to MJML, HTML and text (compiling MJML once) and run the pre-send checks."""
    source = build_mjml(content, context)
    html = compile_email(source, default_lang=content.language)
    rendered = RenderedIssue(mjml=source, html=html, text=html_to_text(html), checks=[])
    return dataclasses.replace(rendered, checks=run_checks(content, rendered.html))


def render_draft(draft: Draft, context: RenderContext) -> RenderedIssue:
    """Render the part of a draft that is ready; each of its problems blocks sending."""
    rendered = render_issue(draft.content, context)
    problems = [
        CheckResult("invalid", Severity.ERROR, problem.message, draft.place(problem).block_id)
        for problem in draft.problems
    ]
    return dataclasses.replace(rendered, checks=[*problems, *rendered.checks])
