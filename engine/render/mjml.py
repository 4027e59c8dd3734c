"""Compile MJML to HTML: the single place that talks to mjml-python (MRML, MJML's Rust port)."""

from __future__ import annotations

import re

from mjml import mjml2html

from engine.errors import PinwheelError

_MJML_ROOT = re.compile(r"<mjml\b[^>]*>")
_UNDETERMINED = re.compile(r' lang="(?:und)?"')
_INDENT = re.compile(r"\n[ \t]+")
_LANG_CODE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
#: MRML passes elements it does not know through untouched; in the output they are mistakes.
_LEFTOVER_ELEMENT = re.compile(r"<(mj-[a-z-]+)")
#: MRML refuses white space right after ``</mj-preview>`` ("unexpected token").
_AFTER_PREVIEW = re.compile(r"</mj-preview>\s+")
_VIEWPORT = re.compile(r'(<meta name="viewport"[^>]*>)')
_BARE_TABLE = re.compile(r"<table(?![^>]*\brole=)")
_COLOR_SCHEME = (
    '<meta name="color-scheme" content="light dark">'
    '<meta name="supported-color-schemes" content="light dark">'
)


class MjmlCompileError(PinwheelError):
    """The MJML source could not be turned into usable HTML (a broken layout, not bad input)."""

    status = 422
    code = "mjml_compile_error"

    def __init__(self, message: str) -> None:
        super().__init__(f"The email layout could not be compiled: {message}")
        self.compiler_message = message


def compile_mjml(source: str, *, default_lang: str = "en") -> str:
    """Compile an MJML document to HTML, raising `MjmlCompileError` when the output is unusable.

    The `lang` of the `<mjml>` root is kept; when it is missing (mjml-python then
    writes `lang="und"`), `default_lang` is used instead.
    """
    lang = default_lang if _LANG_CODE.fullmatch(default_lang) else "en"
    if "<mjml" not in source:
        raise MjmlCompileError("could not parse the document: no <mjml> root element")
    if "<mj-body" not in source:
        raise MjmlCompileError("the MJML document has no <mj-body>")
    try:
        # No web fonts: a newsletter must not make every reader's client call a font host.
        html = mjml2html(_AFTER_PREVIEW.sub("</mj-preview>", _with_lang(source, lang)), fonts={})
    # mjml-python reports unparsable input as ValueError; anything else is a compiler fault.
    except Exception as exc:
        raise MjmlCompileError(_describe(exc)) from exc
    leftover = _LEFTOVER_ELEMENT.search(html)
    if leftover is not None:
        raise MjmlCompileError(f"unknown MJML element <{leftover.group(1)}>")
    if "<body" not in html:
        raise MjmlCompileError("compiler produced no <body>")
    # mjml-python writes lang="und" on <html> and on the body wrapper when the root has none.
    return _UNDETERMINED.sub(f' lang="{lang}"', _collapse_indentation(html))


def compile_email(source: str, *, default_lang: str = "en") -> str:
    """Compile an email layout with `compile_mjml` and finish the HTML every email needs."""
    html = compile_mjml(source, default_lang=default_lang)
    # Without the color-scheme meta, Apple Mail and iOS force their own dark-mode inversion.
    html = _VIEWPORT.sub(lambda m: m.group(1) + _COLOR_SCHEME, html, count=1)
    # Screen readers announce a layout table's rows and cells unless it is presentational.
    return _BARE_TABLE.sub('<table role="presentation"', html)


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValueError):
        return f"could not parse the MJML document: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _collapse_indentation(html: str) -> str:
    # The compiler indents deeply; the indentation alone costs ~30% of the size that
    # counts against Gmail's 102 KB clipping limit. A newline still separates words.
    return _INDENT.sub("\n", html)


def _with_lang(source: str, lang: str) -> str:
    match = _MJML_ROOT.search(source)
    if match is None or "lang=" in match.group(0):
        return source
    root = match.group(0).replace("<mjml", f'<mjml lang="{lang}"', 1)
    return source[: match.start()] + root + source[match.end() :]
