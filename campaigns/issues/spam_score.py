"""SpamAssassin's score of an issue, asked of spamd for the pages where staff review it.

Only where ``PINWHEEL_SPAMD_URL`` is set. The score is advice: a message over the threshold is a
warning, anything else (including a spamd that does not answer) a note; never an error.
"""

from __future__ import annotations

import html
import secrets

from campaigns.rendering.markup import compile_merge_tags
from campaigns.rendering.render import RenderedIssue
from engine.config import Settings
from engine.delivery.base import OutgoingMessage
from engine.delivery.mime import build_mime
from engine.delivery.system import sender_domain
from engine.render.accessibility import CheckResult, Severity
from engine.render.merge import MergeTemplate
from engine.spamd import SpamdError, SpamdReport, score_message


def spam_score_check(settings: Settings, subject: str, rendered: RenderedIssue) -> CheckResult:
    """Score the issue as one reader would receive it and report spamd's verdict."""
    message = build_mime(sample_message(settings, subject, rendered))
    try:
        report = score_message(settings.SPAMD_URL, message)
    except SpamdError as error:
        note = f"The spam score could not be computed ({error}); the other checks still apply."
        return CheckResult("spam_score", Severity.INFO, note)
    return _verdict(report)


def sample_message(settings: Settings, subject: str, rendered: RenderedIssue) -> OutgoingMessage:
    """Return the issue as a message from the sender, merge tags filled with neutral values."""
    values = {
        "unsubscribe_url": f"{settings.BASE_URL}/subscribe",
        "preferences_url": f"{settings.BASE_URL}/subscribe",
        "webview_url": f"{settings.BASE_URL}/archive",
    }
    sender = settings.SENDER_ADDRESS
    domain = sender_domain(sender)
    return OutgoingMessage(
        delivery_id=0,
        to_address=f"review@{domain}",
        to_name="",
        from_address=sender,
        subject=MergeTemplate(compile_merge_tags(subject)).render(values),
        html=MergeTemplate(rendered.html, escape=html.escape).render(values),
        text=MergeTemplate(rendered.text).render(values),
        headers={
            "Message-ID": f"<review.{secrets.token_hex(8)}@{domain}>",
            "List-Unsubscribe": f"<{values['unsubscribe_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def _verdict(report: SpamdReport) -> CheckResult:
    # Rules shown as 0.0 (informational ones such as HTML_MESSAGE) only add noise here.
    scored = [rule for rule in report.rules if abs(rule.points) >= 0.05]
    rules = ", ".join(f"{rule.name} {rule.points:+.1f}" for rule in scored) or "no rule adds points"
    if report.is_spam:
        message = (
            f"SpamAssassin scores this issue {report.score:.1f} points, reaching its spam "
            f"threshold of {report.threshold:.1f} ({rules}): most inboxes would file it as spam. "
            "Rewrite what those rules name before sending."
        )
        return CheckResult("spam_score", Severity.WARNING, message)
    message = (
        f"SpamAssassin scores this issue {report.score:.1f} points; it counts a message as spam "
        f"from {report.threshold:.1f} ({rules})."
    )
    return CheckResult("spam_score", Severity.INFO, message)
