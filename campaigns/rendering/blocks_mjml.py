"""Turn an issue's blocks into MJML fragments through the block partials."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from campaigns.content.document import Block, Heading, ResourceKind, Resources, Toc
from campaigns.rendering.footnotes import Footnotes
from campaigns.rendering.layouts import environment
from campaigns.rendering.palette import Palette

KIND_LABELS: dict[ResourceKind, str] = {
    ResourceKind.TRAINING: "Training",
    ResourceKind.PUBLICATION: "Publication",
    ResourceKind.ORGANIZATION: "Organization",
    ResourceKind.TOOLKIT: "Toolkit",
    ResourceKind.PDF: "PDF",
    ResourceKind.WEBPAGE: "Web page",
    ResourceKind.VIDEO: "Video",
}


@dataclass(frozen=True, slots=True)
class BlockLook:
    """What a block needs to know about the layout it is drawn in."""

    palette: Palette
    align: str = "left"

    @property
    def link_style(self) -> str:
        return f"color:{self.palette.link};text-decoration:underline"


@dataclass(frozen=True, slots=True)
class TocEntry:
    id: str
    text: str


def toc_entries(blocks: Sequence[Block]) -> list[TocEntry]:
    """List the top-level sections (level-2 headings, titled resource lists) for a contents box."""
    entries = []
    for block in blocks:
        if isinstance(block, Heading | Resources) and block.level == 2:
            text = block.text if isinstance(block, Heading) else block.title
            if text:
                entries.append(TocEntry(block.id, text))
    return entries


def render_block(
    block: Block,
    look: BlockLook,
    toc: Sequence[TocEntry] = (),
    notes: Footnotes | None = None,
) -> Markup:
    """Render one block to an MJML fragment (children of an `mj-column`).

    ``notes`` are the footnote anchors of the whole issue; alone, a block links no footnote.
    """
    template = environment().get_template(f"blocks/{block.type.value}.mjml.j2")
    if isinstance(block, Toc) and not toc:
        return Markup("")
    # The partials autoescape every value; markdown arrives already sanitized by nh3.
    return Markup(  # noqa: S704
        template.render(
            block=block,
            p=look.palette,
            align=look.align,
            link=look.link_style,
            kind_labels=KIND_LABELS,
            toc=toc,
            notes=notes or Footnotes([block], look.link_style),
        )
    )


def render_blocks(blocks: Sequence[Block], look: BlockLook) -> list[Markup]:
    """Render every block in order; a contents box lists the issue's sections."""
    toc = toc_entries(blocks)
    notes = Footnotes(blocks, look.link_style)
    return [render_block(block, look, toc, notes) for block in blocks]
