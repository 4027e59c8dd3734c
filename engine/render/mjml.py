"""Compile MJML to HTML: the single place that talks to mjml-python."""

from __future__ import annotations

import re

from mjml import mjml_to_html

_MJML_ROOT = re.compile(r"<mjml\b[^>]*>")
_UNDETERMINED = re.compile(r'\blang="(?:und)?"')
_INDENT = re.compile(r"\n[ \t]+")
_LANG_CODE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")


class MjmlCompileError(ValueError):
    """The MJML source could not be turned into usable HTML."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def compile_mjml(source: str, *, default_lang: str = "en") -> str:
    """Compile an MJML document to HTML, raising `MjmlCompileError` when the output is unusable.

    The `lang` of the `<mjml>` root is kept; when it is missing (mjml-python then
    writes `lang="und"`), `default_lang` is used instead.
    """
    lang = default_lang if _LANG_CODE.fullmatch(default_lang) else "en"
    try:
        result = mjml_to_html(_with_lang(source, lang))
    # mjml-python signals bad input with whatever exception its parser hits first.
    except Exception as exc:
        raise MjmlCompileError(_describe(exc)) from exc
    if result.errors:
        raise MjmlCompileError("; ".join(str(error) for error in result.errors))
    if "<body" not in result.html:
        raise MjmlCompileError("compiler produced no <body>")
    # mjml-python writes lang="und" on <html> and on the body wrapper when the root has none.
    return _UNDETERMINED.sub(f'lang="{lang}"', _collapse_indentation(result.html))


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"unknown MJML element {exc.args[0]!r}"
    if isinstance(exc, AttributeError) and "name" in str(exc):
        return "could not parse the document: no <mjml> root element"
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
