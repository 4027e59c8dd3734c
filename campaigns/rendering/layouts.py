"""The Jinja environment over `templates/email/` and the registry of layouts."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from campaigns.content.document import Layout
from campaigns.rendering import markup
from engine.i18n import DEFAULT, supported, translations

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates" / "email"


@dataclass(frozen=True, slots=True)
class LayoutSpec:
    template: str
    align: str = "left"


LAYOUTS: dict[Layout, LayoutSpec] = {
    Layout.SPOTLIGHT: LayoutSpec("spotlight.mjml.j2"),
    Layout.DIGEST: LayoutSpec("digest.mjml.j2"),
    Layout.RESOURCE_COLLECTION: LayoutSpec("resource_collection.mjml.j2", align="center"),
    Layout.ARTICLE: LayoutSpec("article.mjml.j2"),
}


@pass_context
def _md(
    context: Context,
    text: str,
    link_style: str,
    *,
    inline: bool = False,
    refs: tuple[int, ...] = (),
) -> Markup:
    # The block partials are rendered with the issue's `notes` (`footnotes.Footnotes`).
    notes = context["notes"]
    return markup.markdown(
        text, link_style=link_style, marks=notes.mark, inline=inline, trailing=refs
    )


_ATTRIBUTE_SAFE = str.maketrans({'"': "\u201d", "<": "\u2039", ">": "\u203a"})


def _component_attribute(value: str) -> str:
    # mjml-python decodes entities in component attributes and writes them back raw, so an
    # escaped double quote would end the attribute (and a raw < confuse parsers) in the HTML.
    return value.translate(_ATTRIBUTE_SAFE)


@lru_cache(maxsize=4)
def environment(language: str = DEFAULT) -> Environment:
    """Return the (cached) Jinja environment that renders MJML templates in ``language``.

    The words the layouts add around an issue's own (its footer, the web-view line) come from
    the language's gettext catalogue, never from a request's locale: campaigns render outside
    requests, and an edition in Spanish gets them in Spanish whoever compiles it.
    """
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(supported(language)), newstyle=True)  # type: ignore[attr-defined]
    env.filters["md"] = _md
    env.filters["tags"] = markup.plain
    env.filters["attr"] = _component_attribute
    return env


def layout_spec(layout: Layout) -> LayoutSpec:
    """Look up how a layout is drawn."""
    return LAYOUTS[layout]
