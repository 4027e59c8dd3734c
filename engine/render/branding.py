"""The organisation's look in every email: its name, logo, two colours and footer sentences.

A plain value the layouts read (``branding`` in their Jinja context); the settings page makes
it, and nothing here reads the database. Hashable, so compiled system emails are kept per
branding.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from engine.render.colours import Palette

#: The footer sentence of every publication until staff write their own; the words in square
#: brackets link to the subscribe page.
DEFAULT_FOOTER = "Received this from a friend? [Subscribe] to get it delivered to your inbox."
_LINKED = re.compile(r"\[([^\[\]]+)\]")
_DEFAULT_PALETTE = Palette()
#: Largest logo an email shows, in CSS pixels; a larger image is scaled down (sharper on
#: high-density screens).
EMAIL_LOGO_BOX = (240, 80)


class FooterError(ValueError):
    """A footer sentence without exactly one part in square brackets."""


@dataclass(frozen=True, slots=True)
class FooterLine:
    """A footer sentence cut around the words that link to the subscribe page."""

    before: str
    link: str
    after: str


def footer_line(sentence: str) -> FooterLine:
    """Cut ``sentence`` at its one ``[linked words]``; raise `FooterError` without exactly one."""
    match = _LINKED.search(sentence)
    if match is None or sentence.count("[") != 1 or sentence.count("]") != 1:
        raise FooterError(
            "Put the words that link to the subscribe page in square brackets, once, as in "
            "“Received this from a colleague? [Sign up] to get it in your inbox.”"
        )
    return FooterLine(sentence[: match.start()], match.group(1), sentence[match.end() :])


@dataclass(frozen=True, slots=True)
class Logo:
    """An uploaded logo: its absolute URL, alt text and size in pixels."""

    url: str
    alt: str
    width: int
    height: int

    def fitted(self, box: tuple[int, int]) -> tuple[int, int]:
        """Return the logo's size scaled down (never up) to fit ``box`` (width, height)."""
        scale = min(1.0, box[0] / self.width, box[1] / self.height)
        return max(1, round(self.width * scale)), max(1, round(self.height * scale))

    @property
    def email_size(self) -> tuple[int, int]:
        return self.fitted(EMAIL_LOGO_BOX)


@dataclass(frozen=True, slots=True)
class Branding:
    """What an email shows of the organisation; the defaults are Pinwheel's own look."""

    name: str = ""
    logo: Logo | None = None
    accent: str = _DEFAULT_PALETTE.accent
    link: str = _DEFAULT_PALETTE.link
    #: ``(publication, sentence)`` pairs; a publication without one gets `DEFAULT_FOOTER`.
    footers: tuple[tuple[str, str], ...] = ()

    def palette(self) -> Palette:
        """Return the emails' palette in the organisation's colours (checked legible on save)."""
        return dataclasses.replace(
            _DEFAULT_PALETTE, accent=self.accent, accent_ink=self.accent, link=self.link
        )

    def has_footer(self, publication: str) -> bool:
        """Return whether the settings page gave ``publication`` a sentence of its own."""
        return str(publication) in dict(self.footers)

    def footer(self, publication: str) -> FooterLine:
        """Return the footer sentence of ``publication`` (an issue's layout)."""
        sentence = dict(self.footers).get(str(publication), DEFAULT_FOOTER)
        try:
            return footer_line(sentence)
        except FooterError:
            # Stored sentences were checked when saved; an unreadable one is never fatal.
            return footer_line(DEFAULT_FOOTER)
