"""Footnote marks: each links to its reference, and each reference links back to its first mark.

Authors put ``[^1]`` where a mark belongs (``children)[^1].``). The ``refs`` lists of a
paragraph or list item, written before marks could be placed, still put theirs at the end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from markupsafe import Markup

from campaigns.content.document import (
    Block,
    Bullets,
    Callout,
    Paragraph,
    References,
    Resources,
)
from campaigns.rendering.markup import FOOTNOTE_MARK

_SUP = '<sup style="font-size:11px;line-height:0">'


def marks_in(text: str) -> list[int]:
    """Return the reference numbers marked in ``text`` with ``[^n]``, in order."""
    return [int(match.group(1)) for match in FOOTNOTE_MARK.finditer(text)]


def citations(block: Block) -> list[int]:
    """Return the reference numbers a block cites (placed marks and ``refs``), in reading order."""
    if isinstance(block, Paragraph):
        return [*marks_in(block.text), *block.refs]
    if isinstance(block, Bullets | Callout):
        numbers = marks_in(block.body) if isinstance(block, Callout) else []
        for item in block.items:
            numbers += [*marks_in(item.text), *item.refs]
        return numbers
    if isinstance(block, Resources):
        texts = [block.intro, *(item.description for item in block.items)]
        return [number for text in texts for number in marks_in(text)]
    return []


class Footnotes:
    """The footnote anchors of one rendering of an issue.

    Every mark of a listed reference links to it (``#ref-n``); the first mark of each number is
    ``cite-n``, where the reference links back to, and later ones ``cite-n-2``, ``cite-n-3`` …
    so that ids stay unique.
    """

    def __init__(self, blocks: Sequence[Block], link_style: str) -> None:
        self.link_style = link_style
        self.listed = {
            ref.number
            for b in blocks
            if isinstance(b, References)
            for ref in b.items
            if ref.number is not None
        }
        self.cited = {number for block in blocks for number in citations(block)}
        self._seen: Counter[int] = Counter()

    def mark(self, numbers: Iterable[int]) -> Markup:
        """Write marks such as [1][2] as superscript, each a link to its reference."""
        links = "".join(self._link(number) for number in numbers)
        # Only numbers and markup built here: nothing from the author is in it.
        return Markup(f"{_SUP}{links}</sup>") if links else Markup("")  # noqa: S704

    def back(self, number: int | None) -> Markup:
        """Return the link from reference ``number`` back to its first mark ('' if uncited)."""
        if number is None or number not in self.cited:
            return Markup("")
        # `hidden` leaves it out of the plain-text part, where it could not link anywhere;
        # the inline `display` shows it in mail clients and browsers all the same.
        return Markup(  # noqa: S704
            f'<a href="#cite-{number}" role="doc-backlink" hidden '
            f'style="display:inline;{self.link_style}" '
            f'aria-label="Back to where reference {number} is cited">\u2191</a> '
        )

    def _link(self, number: int) -> str:
        if number not in self.listed:
            return f"[{number}]"
        self._seen[number] += 1
        count = self._seen[number]
        anchor = f"cite-{number}" if count == 1 else f"cite-{number}-{count}"
        return f'<a href="#ref-{number}" id="{anchor}" style="{self.link_style}">[{number}]</a>'
