"""Pre-send checks: what must be true of an issue before it may go to subscribers."""

from __future__ import annotations

from collections.abc import Iterator

from campaigns.content.document import (
    Block,
    Heading,
    Image,
    IssueContent,
    References,
    ReferenceStyle,
    Resources,
    iter_texts,
)
from campaigns.rendering.blocks_mjml import BlockLook, TocEntry, render_block, toc_entries
from campaigns.rendering.footnotes import citations
from campaigns.rendering.markup import EDITOR_TAG, LOOSE_TAG
from campaigns.rendering.palette import MIN_CONTRAST, Palette, contrast_ratio, palette_for
from campaigns.rendering.spam_wording import check_spam_wording
from engine.render.accessibility import VAGUE_LINK_TEXTS, CheckResult, HtmlFacts, Severity
from engine.render.merge import KNOWN_KEYS, MERGE_TAG

GMAIL_CLIP_BYTES = 102 * 1024
SIZE_WARNING_BYTES = 90 * 1024


def _error(code: str, message: str, block_id: str | None = None) -> CheckResult:
    return CheckResult(code, Severity.ERROR, message, block_id)


def _warning(code: str, message: str, block_id: str | None = None) -> CheckResult:
    return CheckResult(code, Severity.WARNING, message, block_id)


def run_checks(content: IssueContent, html: str) -> list[CheckResult]:
    """Run every pre-send check over an issue and its rendering, naming the block at fault."""
    facts = HtmlFacts(html)
    results = [
        *_check_compliance(facts),
        *_check_size(html),
        *_check_envelope(content),
        *_check_headings(content),
        *_check_merge_tags(content, html),
        *_check_citations(content),
        *_check_contrast(content),
        *check_spam_wording(content),
    ]
    look = BlockLook(Palette())
    toc = toc_entries(content.blocks)
    for block in content.blocks:
        results.extend(_check_block(block, look, toc))
    if facts.images_without_alt and not any(r.code == "image_alt" for r in results):
        results.append(_error("image_alt", "an image has no alt attribute"))
    return results


def _check_compliance(facts: HtmlFacts) -> Iterator[CheckResult]:
    if not any(href and "%%unsubscribe_url%%" in href for href, _ in facts.links):
        yield _error("unsubscribe_missing", "the email has no unsubscribe link")
    if not facts.postal.strip():
        yield _error("postal_address_missing", "the email has no postal address in its footer")


def _check_size(html: str) -> Iterator[CheckResult]:
    size = len(html.encode("utf-8"))
    kib = f"{size / 1024:.0f} KB"
    if size > GMAIL_CLIP_BYTES:
        yield _error("html_size", f"the HTML is {kib}; Gmail clips messages above 102 KB")
    elif size > SIZE_WARNING_BYTES:
        yield _warning("html_size", f"the HTML is {kib}, close to Gmail's 102 KB clipping limit")


def _check_envelope(content: IssueContent) -> Iterator[CheckResult]:
    subject, preheader = content.subject.strip(), content.preheader.strip()
    if not subject:
        yield _error("subject_length", "the subject is empty")
    elif len(subject) > 150:
        yield _error("subject_length", f"the subject has {len(subject)} characters (max 150)")
    elif len(subject) > 60:
        yield _warning(
            "subject_length", f"the subject has {len(subject)} characters; inboxes cut it near 60"
        )
    if not 40 <= len(preheader) <= 130:
        yield _warning(
            "preheader_length", f"the preheader has {len(preheader)} characters; aim for 40-130"
        )


def _outline(content: IssueContent) -> Iterator[tuple[int, str]]:
    for block in content.blocks:
        if isinstance(block, Heading) or (isinstance(block, Resources) and block.title):
            yield block.level, block.id
        elif isinstance(block, References):
            yield 2, block.id


def _check_headings(content: IssueContent) -> Iterator[CheckResult]:
    previous = 1
    for level, block_id in _outline(content):
        if level > previous + 1:
            message = f"heading level {level} follows level {previous}; a level is skipped"
            yield _warning("heading_order", message, block_id)
        previous = level


def _check_block(block: Block, look: BlockLook, toc: list[TocEntry]) -> Iterator[CheckResult]:
    if isinstance(block, Image) and not block.alt.strip() and not block.decorative:
        yield _error("image_alt", "the image needs alt text or to be marked decorative", block.id)
    for href, text in HtmlFacts(render_block(block, look, toc)).links:
        if not href or not text:
            yield _error(
                "link_empty", f"a link has no {'address' if not href else 'text'}", block.id
            )
        elif text.strip(" .:!>»").lower() in VAGUE_LINK_TEXTS:
            yield _warning(
                "link_text", f"the link text {text!r} does not make sense alone", block.id
            )


def _texts(content: IssueContent) -> Iterator[tuple[str | None, str]]:
    for text in (content.subject, content.preheader, content.title, content.kicker):
        yield None, text
    for block in content.blocks:
        for text in iter_texts(block):
            yield block.id, text


def _check_merge_tags(content: IssueContent, html: str) -> Iterator[CheckResult]:
    reported: set[str] = set()
    for block_id, text in _texts(content):
        for match in EDITOR_TAG.finditer(text):
            if match.group(1) not in KNOWN_KEYS:
                reported.add(match.group(1))
                yield _error("merge_tag_unknown", f"unknown merge tag {match.group(0)}", block_id)
        for broken in LOOSE_TAG.findall(EDITOR_TAG.sub("", text)):
            yield _error("merge_tag_broken", f"malformed merge tag {broken!r}", block_id)
    for key in sorted({m.group(1) for m in MERGE_TAG.finditer(html)} - KNOWN_KEYS - reported):
        yield _error("merge_tag_unknown", f"unknown merge tag %%{key}%%")


def _check_citations(content: IssueContent) -> Iterator[CheckResult]:
    defined: dict[int, str] = {}
    for block in content.blocks:
        if isinstance(block, References) and block.style is ReferenceStyle.NUMBERED:
            defined.update((ref.number, block.id) for ref in block.items if ref.number)
    cited: set[int] = set()
    for block_id, number in ((b.id, n) for b in content.blocks for n in citations(b)):
        cited.add(number)
        if number not in defined:
            yield _error(
                "citation_undefined", f"reference [{number}] is cited but not listed", block_id
            )
    for number in sorted(set(defined) - cited):
        yield _warning("reference_uncited", f"reference [{number}] is never cited", defined[number])


def _check_contrast(content: IssueContent) -> Iterator[CheckResult]:
    if content.theme is None:
        return
    palette = palette_for(content.theme.accent)
    ratio = contrast_ratio(palette.accent, palette.on_accent)
    if ratio < MIN_CONTRAST:
        message = (
            f"text on the accent colour {palette.accent} has contrast {ratio:.1f}:1 (min 4.5:1)"
        )
        yield _error("theme_contrast", message)
