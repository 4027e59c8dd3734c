"""The pre-send check that warns about wording spam filters score, whatever its context."""

from __future__ import annotations

from collections.abc import Iterator

from campaigns.content.document import IssueContent, iter_texts
from engine.render.accessibility import CheckResult, Severity
from engine.spam_rules import PhraseHit, find_phrases

#: SpamAssassin's default threshold: a message with this many points is spam.
SPAM_THRESHOLD = 5.0
#: Rules worth less move no message across the threshold (many score 0.1 or 0.001), and some
#: of them are about shape, not words: TRACKER_ID scores a text that is one long token.
MIN_POINTS = 0.5
_ADVICE = (
    "Discussing this subject is fine: keep the rest of the message clean so the total stays "
    "low, with no other sales-like wording, a plain-text part as complete as the HTML, and the "
    "usual sender address, whose good reputation carries the message."
)


def check_spam_wording(content: IssueContent) -> Iterator[CheckResult]:
    """Warn, never block, where the text holds phrases that SpamAssassin's rules score."""
    for block_id, where, hits in _hits(content):
        phrases = " and ".join(sorted({f"\u201c{hit.phrase}\u201d" for hit in hits}))
        rules = ", ".join(f"{hit.rule.name} {hit.rule.score:.1f}" for hit in hits)
        points = sum(hit.rule.score for hit in hits)
        message = (
            f"{where} contains {phrases}, wording that spam filters count against a message "
            f"whatever the context (SpamAssassin adds {points:.1f} points: {rules}; "
            f"{SPAM_THRESHOLD:.0f} points make a message spam). {_ADVICE}"
        )
        yield CheckResult("spam_wording", Severity.WARNING, message, block_id)


def _hits(content: IssueContent) -> Iterator[tuple[str | None, str, list[PhraseHit]]]:
    # SpamAssassin runs its body rules over the subject too, and its subject rules only there.
    for field in ("subject", "preheader", "title", "kicker"):
        found = _unique(find_phrases(getattr(content, field), is_subject=field == "subject"))
        if found:
            yield None, f"The {field}", found
    for block in content.blocks:
        found = _unique([hit for text in iter_texts(block) for hit in find_phrases(text)])
        if found:
            yield block.id, "This block", found


def _unique(hits: list[PhraseHit]) -> list[PhraseHit]:
    return list({hit.rule.name: hit for hit in hits if hit.rule.score >= MIN_POINTS}.values())
