"""The language of public pages and system emails: Flask-Babel with the project's catalogues.

Readers get English or Spanish. A page takes the language of the subscriber its link was made
for (the view says so with ``use_language``); else the one chosen with ``?lang=`` or the
switch link, remembered in a cookie; else the browser's ``Accept-Language``. Staff pages, the
API and the CLI stay in English. The catalogues are ``translations/<code>/LC_MESSAGES/
messages.po``; ``make`` compiles them (the ``.mo`` files are built, never committed).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final
from urllib.parse import quote, urlencode

from babel.support import NullTranslations, Translations
from flask import Flask, Response, current_app, g, has_app_context, has_request_context, request
from flask_babel import Babel, get_locale, refresh
from markupsafe import Markup

from engine.config import PROJECT_ROOT

#: The languages readers can choose, each named in its own language.
LANGUAGES: Final[tuple[tuple[str, str], ...]] = (("en", "English"), ("es", "Español"))
CODES: Final[tuple[str, ...]] = tuple(code for code, _name in LANGUAGES)
DEFAULT: Final = "en"
TRANSLATIONS = PROJECT_ROOT / "translations"
#: Remembers the choice made with the language switch for a year.
COOKIE = "pinwheel_lang"
_STAFF_PREFIXES = ("/admin", "/api/")


def supported(code: str | None) -> str | None:
    """Return the supported language ``code`` names (``es-MX`` → ``es``), or None."""
    if not code:
        return None
    base = code.strip().replace("_", "-").split("-")[0].lower()
    return base if base in CODES else None


@lru_cache(maxsize=8)
def translations(code: str | None) -> NullTranslations:
    """Return the catalogue of ``code`` (English, untranslated, for any other) for use outside
    a request: emails built by the scheduler, a worker or the CLI."""
    language = supported(code) or DEFAULT
    if language == DEFAULT:
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS), [language], domain="messages")


def use_language(code: str | None) -> None:
    """Show this request's page in ``code`` (a subscriber's language) when it is supported."""
    language = supported(code)
    if language:
        g.page_language = language
        # A locale already looked up for this request is cached; forget it.
        refresh()


def page_language() -> str:
    """Return the language of this request's page (see the module's docstring for the order)."""
    if not has_request_context():
        return DEFAULT
    if request.path.startswith(_STAFF_PREFIXES):
        return DEFAULT
    chosen = g.get("page_language") or supported(request.args.get("lang"))
    if chosen:
        return chosen
    remembered = supported(request.cookies.get(COOKIE))
    return remembered or request.accept_languages.best_match(CODES, default=DEFAULT)


def current_language() -> str:
    """Return the language of the page being rendered (English outside a request)."""
    if not has_app_context() or "babel" not in current_app.extensions:
        return DEFAULT
    return str(get_locale() or DEFAULT)


def other_language(item: object) -> Markup:
    """Return ` lang="…"` for text of ``item`` (an issue) in another language than the page's.

    Screen readers then read an issue's title in its own language inside a page in another.
    """
    written = getattr(item, "language", None) or DEFAULT
    language = supported(written) or written
    if language == current_language():
        return Markup("")
    return Markup(' lang="{}"').format(language)


def language_link(code: str) -> str:
    """Return this page's own address in language ``code`` (the language switch's link).

    Built from the request's path and query rather than from its endpoint, so it holds on any
    page, an error page for a malformed address included.
    """
    query = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    return f"{quote(request.path)}?{urlencode([*query, ('lang', code)])}"


def _remember_choice(response: Response) -> Response:
    if request.path.startswith(_STAFF_PREFIXES):
        return response
    chosen = supported(request.args.get("lang"))
    if chosen:
        response.set_cookie(
            COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax", secure=request.is_secure
        )
    if response.mimetype == "text/html":
        # A reader's page is in the language their browser asks for or they chose.
        response.vary.update(("Accept-Language", "Cookie"))
    return response


def init_app(app: Flask) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT
    Babel(app, locale_selector=page_language)
    # Flask-Babel keeps the locale it found on the application context, which a request may
    # share with the one before it (a CLI command's, a test's): look it up again each time.
    app.before_request(refresh)
    app.after_request(_remember_choice)

    @app.context_processor
    def _languages() -> dict[str, object]:
        return {
            "page_language": current_language,
            "reader_languages": LANGUAGES,
            "other_language": other_language,
            "language_link": language_link,
        }
