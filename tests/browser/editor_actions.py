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

#: A paste as Ctrl+V makes it: a paste event carrying the text, then the browser's own insertion
#: at the cursor unless the page handled the paste itself.
PASTE = """(control, text) => {
  control.focus();
  const data = new DataTransfer();
  data.setData("text/plain", text);
  const init = { clipboardData: data, bubbles: true, cancelable: true };
  const event = new ClipboardEvent("paste", init);
  if (control.dispatchEvent(event)) document.execCommand("insertText", false, text);
}"""


def paste(acts: ActionCount, target: Any, text: str) -> None:
    """Paste ``text`` into ``target``, counted as one action."""
    target.scroll_into_view_if_needed()
    target.evaluate(PASTE, text)
    acts.actions.append((acts.part, "paste"))


def write_blocks_from(acts: ActionCount, card: Any, blocks: list[dict[str, Any]]) -> None:
    """Make the editor card ``card`` hold ``blocks``, copied from the source as a person would.

    ``blocks`` are of the card's type; several are paragraphs in a row, pasted at once (the
    editor makes a block of each). Lists, resources and references are pasted whole, as lines:
    resources as the columns of a spreadsheet, references as a numbered list.
    """
    _WRITERS[blocks[0]["type"]](acts, card, blocks)


def _paragraphs(acts: ActionCount, card: Any, blocks: list[dict[str, Any]]) -> None:
    area = card.get_by_label("Paragraph text", exact=True)
    paste(acts, area, "\n\n".join(b["text"] for b in blocks))


def _bullets(acts: ActionCount, card: Any, blocks: list[dict[str, Any]]) -> None:
    _paste_rows(acts, card, "Item 1 text", [item["text"] for item in blocks[0]["items"]])


def _callout(acts: ActionCount, card: Any, blocks: list[dict[str, Any]]) -> None:
    (callout,) = blocks
    acts.set(card.get_by_label("Callout title"), callout["title"])
    acts.set(card.get_by_label("Callout body", exact=True), callout.get("body", ""))
    _paste_rows(acts, card, "Item 1 text", [item["text"] for item in callout.get("items", [])])


def _resources(acts: ActionCount, card: Any, blocks: list[dict[str, Any]]) -> None:
    (section,) = blocks
    acts.set(card.get_by_label("Section title"), section.get("title", ""))
    acts.set(card.get_by_label("Introduction", exact=True), section.get("intro", ""))
    acts.set(card.get_by_label("Heading level"), str(section.get("level", 2)))
    columns = ("title", "url", "description", "kind", "size")
    lines = ["\t".join(item.get(key, "") for key in columns) for item in section["items"]]
    _paste_rows(acts, card, "Resource 1 title", lines)


def _references(acts: ActionCount, card: Any, blocks: list[dict[str, Any]]) -> None:
    (references,) = blocks
    acts.set(card.get_by_label("Title", exact=True), references.get("title", "References"))
    acts.set(card.get_by_label("Style"), references.get("style", "numbered"))
    lines = [f"{r['number']}. {r['text']} {r.get('url', '')}".strip() for r in references["items"]]
    _paste_rows(acts, card, "Reference 1 text", lines)


def _paste_rows(acts: ActionCount, card: Any, first_row: str, lines: list[str]) -> None:
    """Paste ``lines`` into the first row's field, or remove that row when there are none."""
    if lines:
        paste(acts, card.get_by_label(first_row, exact=True), "\n".join(lines))
    elif card.locator(".rows > li").count():
        acts.click(card.get_by_role("button", name="Remove row 1"))


_WRITERS: dict[str, Callable[[ActionCount, Any, list[dict[str, Any]]], None]] = {
    "paragraph": _paragraphs,
    "bullets": _bullets,
    "callout": _callout,
    "resources": _resources,
    "references": _references,
}
