"""The layouts of system emails (``templates/email/system/``): compiled once, filled per message.

A layout is rendered with a merge tag (``%%name%%``) in place of every value, compiled by the
MJML compiler the campaigns use and turned into text by the same converter, so the text part
says what the HTML says. Both are kept per process as `MergeTemplate`s; a message only fills in
its values (escaped in the HTML). Confirmations go out in rounds, and one compile (some
milliseconds) costs as much as hundreds of fills. As in a campaign's text, lines are wrapped
with the merge tags in place, so a long value lengthens its line.

A list value (topics, drafts) gives the layout one merge tag per item, so a layout is compiled
once per number of items it is given.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from engine.config import PROJECT_ROOT
from engine.i18n import DEFAULT, supported, translations
from engine.render.branding import Branding
from engine.render.merge import MergeTemplate
from engine.render.mjml import compile_email
from engine.render.text import html_to_text

TEMPLATE_DIR = PROJECT_ROOT / "templates" / "email"

Field = str | Sequence[str] | Sequence[Mapping[str, str]]
_Shape = tuple[tuple[str, tuple[tuple[str, ...] | None, ...] | None], ...]
_NAME = re.compile(r"[a-z]+(?:_[a-z]+)*")


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """The two bodies of one system email."""

    html: str
    text: str


def greeting(name: str, language: str = DEFAULT) -> str:
    """Return the first line of a personal email: ``Hello Ana,`` or ``Hello,`` (``Hola Ana:``)."""
    words = translations(language)
    return (
        words.gettext("Hello %(name)s,") % {"name": name}
        if name.strip()
        else words.gettext("Hello,")
    )


def render_system_email(
    layout: str,
    fields: Mapping[str, Field],
    branding: Branding | None = None,
    language: str = DEFAULT,
) -> RenderedEmail:
    """Fill the layout ``system/<layout>.mjml.j2`` with ``fields``, compiling it on first use.

    A field is a string, a list of strings or a list of mappings of strings (one per item).
    ``branding`` (name, logo, colours; Pinwheel's own without it) is compiled in: a new one,
    after the settings changed, costs one more compile. The layout's own words are in
    ``language`` (a reader's: English or Spanish), and so is its ``lang``.
    """
    shape = tuple(sorted((name, _shape(name, value)) for name, value in fields.items()))
    page, text = _compiled(layout, shape, branding or Branding(), supported(language) or DEFAULT)
    values = dict(_values(fields))
    return RenderedEmail(page.render(values), text.render(values))


def _shape(name: str, value: Field) -> tuple[tuple[str, ...] | None, ...] | None:
    _check_name(name)
    if isinstance(value, str):
        return None
    items = [tuple(sorted(item)) if isinstance(item, Mapping) else None for item in value]
    for keys in items:
        for key in keys or ():
            _check_name(key)
    return tuple(items)


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise ValueError(f"a field name must be lowercase words joined by _: {name!r}")


def _tag(*parts: str) -> str:
    return "_".join(parts)


def _item(index: int) -> str:
    # Merge tags are letters and underscores, so an item's number is written in letters.
    letters = ""
    while True:
        index, digit = divmod(index, 26)
        letters = chr(ord("a") + digit) + letters
        if not index:
            return letters


def _values(fields: Mapping[str, Field]) -> Iterator[tuple[str, str]]:
    for name, value in fields.items():
        if isinstance(value, str):
            yield name, value
            continue
        items: Sequence[str | Mapping[str, str]] = value
        for index, item in enumerate(items):
            prefix = _tag(name, _item(index))
            if isinstance(item, Mapping):
                yield from ((_tag(prefix, key), text) for key, text in item.items())
            else:
                yield prefix, item


def _placeholders(shape: _Shape) -> dict[str, object]:
    # Merge tags hold no character that autoescaping would change.
    fields: dict[str, object] = {}
    for name, items in shape:
        if items is None:
            fields[name] = f"%%{name}%%"
            continue
        fields[name] = [
            f"%%{_tag(name, _item(index))}%%"
            if keys is None
            else {key: f"%%{_tag(name, _item(index), key)}%%" for key in keys}
            for index, keys in enumerate(items)
        ]
    return fields


@lru_cache(maxsize=64)
def _compiled(
    layout: str, shape: _Shape, branding: Branding, language: str
) -> tuple[MergeTemplate, MergeTemplate]:
    template = _environment(language).get_template(f"system/{layout}.mjml.j2")
    source = template.render(
        f=_placeholders(shape), p=branding.palette(), lang=language, branding=branding
    )
    page = compile_email(source, default_lang=language)
    return MergeTemplate(page, escape=html.escape), MergeTemplate(html_to_text(page))


@lru_cache(maxsize=8)
def _environment(language: str) -> Environment:
    # Without a request: every link arrives as a value, never from url_for; the words come from
    # the language's catalogue, not from the request's locale.
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return environment
