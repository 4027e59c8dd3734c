"""Single-line text fields (names, subjects, topic names, attributes): no control characters.

These values end up in mail headers, SendGrid personalizations, CSV cells and page titles. A CR
or LF there can start a new header, and a NUL or other control character can make a provider
refuse a whole request, so they are refused where they enter, not found at send time.
"""

from __future__ import annotations

import re

from engine.errors import ValidationFailed

#: Every C0 control (tab, line feed, carriage return, NUL …) and DEL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DESCRIPTIONS = {
    "\t": "a tab",
    "\n": "a line break",
    "\r": "a carriage return",
    "\x00": "a null character",
    "\x7f": "a delete character",
}


def control_character(value: str) -> str | None:
    """Describe the first control character in ``value`` for people, or return ``None``."""
    found = _CONTROL.search(value)
    if found is None:
        return None
    char = found.group()
    return f"{_DESCRIPTIONS.get(char, 'a control character')} (U+{ord(char):04X})"


def check_line(value: str, label: str, *, path: str) -> str:
    """Return ``value`` unchanged, or raise ``ValidationFailed`` if it holds a control character.

    ``label`` names the field for people ("The name"); ``path`` is its key in the details.
    """
    problem = control_character(value)
    if problem is None:
        return value
    message = (
        f"{label} contains {problem}. Write it on one line, without tabs or other special "
        "characters."
    )
    raise ValidationFailed(message, details=[{"path": path, "message": message}])


def check_text(value: str, label: str, *, path: str) -> str:
    """Return ``value`` with Windows line ends made ``\\n``; refuse any other control character.

    For several lines of free text (a reviewer's comment): line breaks are what make it
    readable, and nothing else below U+0020 is needed to write one.
    """
    text = value.replace("\r\n", "\n")
    problem = control_character(text.replace("\n", " "))
    if problem is None:
        return text
    message = f"{label} contains {problem}. Remove it; line breaks are fine."
    raise ValidationFailed(message, details=[{"path": path, "message": message}])
