"""Fill merge tags into a compiled document once per recipient.

A compiled document carries merge tags as `%%key%%` or `%%key|fallback%%`: `key` is
lowercase letters and underscores; the fallback, if any, is used when the recipient's
value is missing or empty. The fallback is stored already in the document's own
encoding (HTML-escaped in HTML), so it is inserted as it stands.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

MERGE_TAG = re.compile(r"%%([a-z_]+)(?:\|([^%\n]{0,80}))?%%")

KNOWN_KEYS: frozenset[str] = frozenset(
    {"first_name", "name", "email", "unsubscribe_url", "preferences_url", "webview_url"}
)

Escape = Callable[[str], str]


class MergeTemplate:
    """A document split at its merge tags, ready to be filled for many recipients."""

    __slots__ = ("_escape", "_parts", "_slots", "keys", "source")

    def __init__(self, source: str, escape: Escape | None = None) -> None:
        self.source = source
        self._escape = escape
        parts: list[str] = []
        slots: list[tuple[int, str, str]] = []
        position = 0
        for match in MERGE_TAG.finditer(source):
            parts.append(source[position : match.start()])
            slots.append((len(parts), match.group(1), match.group(2) or ""))
            parts.append("")
            position = match.end()
        parts.append(source[position:])
        self._parts = parts
        self._slots = tuple(slots)
        self.keys: tuple[str, ...] = tuple(dict.fromkeys(key for _, key, _ in slots))

    def render(self, values: Mapping[str, str]) -> str:
        """Return the document with every merge tag replaced by the recipient's value."""
        parts = self._parts.copy()
        escape = self._escape
        for index, key, fallback in self._slots:
            value = values.get(key) or ""
            if not value:
                parts[index] = fallback
            elif escape is None:
                parts[index] = value
            else:
                parts[index] = escape(value)
        return "".join(parts)

    def unknown_keys(self) -> tuple[str, ...]:
        """List the merge tags present that no recipient can fill."""
        return tuple(key for key in self.keys if key not in KNOWN_KEYS)
