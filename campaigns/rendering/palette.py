"""Theme colours: an observance's accent turned into a legible palette for an issue."""

from __future__ import annotations

import dataclasses

from engine.render.colours import MIN_CONTRAST, Palette, contrast_ratio


def text_on(background: str) -> str:
    """Choose white or near-black text, whichever reads better on `background`."""
    white, black = "#ffffff", "#111820"
    return (
        white if contrast_ratio(background, white) >= contrast_ratio(background, black) else black
    )


def tint_of(colour: str, amount: float = 0.9) -> str:
    """Mix `colour` with white; `amount` is the share of white."""
    channels = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(c + (255 - c) * amount):02x}" for c in channels)


def palette_for(accent: str | None, base: Palette | None = None) -> Palette:
    """Build the palette for an issue, themed by an observance's accent colour when given.

    ``base`` is the organisation's own palette (the Settings page); an observance's accent
    still wins for the issues themed by it.
    """
    base = base or Palette()
    if not accent:
        return base
    readable = contrast_ratio(accent, base.card) >= MIN_CONTRAST
    return dataclasses.replace(
        base,
        accent=accent,
        on_accent=text_on(accent),
        accent_ink=accent if readable else base.ink,
        tint=tint_of(accent, 0.92),
    )
