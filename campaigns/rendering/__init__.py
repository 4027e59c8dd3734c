"""Render an issue's content into the email subscribers receive (pure: no database, no request)."""

from campaigns.rendering.checks import CheckResult, Severity, run_checks
from campaigns.rendering.markup import compile_merge_tags
from campaigns.rendering.render import RenderContext, RenderedIssue, build_mjml, render_issue

__all__ = [
    "CheckResult",
    "RenderContext",
    "RenderedIssue",
    "Severity",
    "build_mjml",
    "compile_merge_tags",
    "render_issue",
    "run_checks",
]
