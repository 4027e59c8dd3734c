"""Counted UI actions, and the editor's block cards written one action at a time from content."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class ActionCount:
    """Perform clicks, fills, selects and key presses on locators, counting each by part."""

    def __init__(self) -> None:
        #: One ``(part, verb)`` per action, in the order they were performed.
        self.actions: list[tuple[str, str]] = []
        self.part = "unsorted"

    @contextmanager
    def counting(self, part: str) -> Iterator[None]:
        """Count the actions inside the block as ``part``."""
        previous, self.part = self.part, part
        try:
            yield
        finally:
            self.part = previous

    def total(self, parts: Callable[[str], bool] = lambda _part: True) -> int:
        """Return the number of actions in the parts ``parts`` accepts (all by default)."""
        return sum(1 for part, _verb in self.actions if parts(part))

    def lines(self, parts: Callable[[str], bool] = lambda _part: True) -> list[str]:
        """Return a ``count  part (verbs)`` line per part ``parts`` accepts, first met first."""
        tally: dict[str, Counter[str]] = {}
        for part, verb in self.actions:
            if parts(part):
                tally.setdefault(part, Counter())[verb] += 1
        return [
            f"{sum(verbs.values()):4}  {part} ({', '.join(f'{n} {v}' for v, n in verbs.items())})"
            for part, verbs in tally.items()
        ]

    def verbs(self, parts: Callable[[str], bool] = lambda _part: True) -> Counter[str]:
        """Return how many of each verb (click, fill, select, check, press) the parts hold."""
        return Counter(verb for part, verb in self.actions if parts(part))

    def click(self, target: Any) -> None:
        # Scrolled first, as a person scrolls before clicking: Playwright's own scroll and click
        # in one go can land on the editor's sticky preview frame that was there a frame ago.
        target.scroll_into_view_if_needed()
        target.click()
        self._tick("click")

    def fill(self, target: Any, value: str) -> None:
        target.fill(value)
        self._tick("fill")

    def select(self, target: Any, **option: Any) -> None:
        target.select_option(**option)
        self._tick("select")

    def check(self, target: Any) -> None:
        """Tick a box or choose a radio button, unless it already is."""
        if not target.is_checked():
            target.check()
            self._tick("check")

    def press(self, target: Any, key: str) -> None:
        target.press(key)
        self._tick("press")

    def set(self, target: Any, value: str) -> None:
        """Fill or select ``value`` unless the control holds it already, as a person would."""
        if target.input_value() == value:
            return
        if target.evaluate("control => control.tagName") == "SELECT":
            self.select(target, value=value)
        else:
            self.fill(target, value)

    def _tick(self, verb: str) -> None:
        self.actions.append((self.part, verb))


# ---- the editor's block cards ---------------------------------------------------------------


def write_block(acts: ActionCount, card: Any, block: dict[str, Any]) -> None:
    """Make the editor card ``card`` hold ``block``'s content (its type already matches)."""
    _WRITERS[block["type"]](acts, card, block)


def _paragraph(acts: ActionCount, card: Any, block: dict[str, Any]) -> None:
    acts.set(card.get_by_label("Paragraph text", exact=True), block["text"])


def _bullets(acts: ActionCount, card: Any, block: dict[str, Any]) -> None:
    _rows(acts, card, block["items"], "bullet", _bullet_row)


def _callout(acts: ActionCount, card: Any, block: dict[str, Any]) -> None:
    acts.set(card.get_by_label("Callout title"), block["title"])
    acts.set(card.get_by_label("Callout body", exact=True), block.get("body", ""))
    _rows(acts, card, block.get("items", []), "bullet", _bullet_row)


def _resources(acts: ActionCount, card: Any, block: dict[str, Any]) -> None:
    acts.set(card.get_by_label("Section title"), block.get("title", ""))
    acts.set(card.get_by_label("Introduction", exact=True), block.get("intro", ""))
    acts.set(card.get_by_label("Heading level"), str(block.get("level", 2)))
    _rows(acts, card, block["items"], "resource", _resource_row)


def _references(acts: ActionCount, card: Any, block: dict[str, Any]) -> None:
    acts.set(card.get_by_label("Title", exact=True), block.get("title", "References"))
    acts.set(card.get_by_label("Style"), block.get("style", "numbered"))
    _rows(acts, card, block["items"], "reference", _reference_row)


def _bullet_row(acts: ActionCount, row: Any, index: int, item: dict[str, Any]) -> None:
    acts.set(row.get_by_label(f"Item {index + 1} text", exact=True), item["text"])


def _resource_row(acts: ActionCount, row: Any, index: int, item: dict[str, Any]) -> None:
    acts.set(row.get_by_label(f"Resource {index + 1} title"), item["title"])
    acts.set(row.get_by_label("Link (https://…)"), item["url"])
    acts.set(row.get_by_label("Description"), item.get("description", ""))
    acts.set(row.get_by_label("Kind"), item.get("kind", "webpage"))
    acts.set(row.get_by_label("File size"), item.get("size", ""))


def _reference_row(acts: ActionCount, row: Any, index: int, item: dict[str, Any]) -> None:
    acts.set(row.get_by_label("Reference number"), str(item["number"]))
    acts.set(row.get_by_label(f"Reference {index + 1} text"), item["text"])
    acts.set(row.get_by_label("Link", exact=True), item.get("url", ""))


def _rows(
    acts: ActionCount,
    card: Any,
    items: list[dict[str, Any]],
    kind: str,
    write_row: Callable[[ActionCount, Any, int, dict[str, Any]], None],
) -> None:
    rows = card.locator(".rows > li")
    while rows.count() > len(items):
        acts.click(card.get_by_role("button", name=f"Remove row {rows.count()}"))
    for index, item in enumerate(items):
        if index >= rows.count():
            acts.click(card.get_by_role("button", name=f"Add {kind}"))
        write_row(acts, rows.nth(index), index, item)


_WRITERS: dict[str, Callable[[ActionCount, Any, dict[str, Any]], None]] = {
    "paragraph": _paragraph,
    "bullets": _bullets,
    "callout": _callout,
    "resources": _resources,
    "references": _references,
}
