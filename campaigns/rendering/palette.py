"""Colours of the email layouts and the WCAG contrast arithmetic that keeps them legible."""

from __future__ import annotations

from dataclasses import dataclass

MIN_CONTRAST = 4.5


@dataclass(frozen=True, slots=True)
class Palette:
    page: str = "#eef1f5"
    card: str = "#ffffff"
    ink: str = "#1f2933"
    muted: str = "#4a5563"
    link: str = "#1a5796"
    rule: str = "#d5dbe3"
    accent: str = "#0b5a6e"
    on_accent: str = "#ffffff"
    accent_ink: str = "#0b5a6e"
    tint: str = "#edf4f6"
    dark_page: str = "#0f141a"
    dark_card: str = "#1a222c"
    dark_ink: str = "#e6eaf0"
    dark_muted: str = "#b4bdc9"
    dark_link: str = "#8cc8ff"
    dark_tint: str = "#223140"
    dark_rule: str = "#33404f"


def relative_luminance(colour: str) -> float:
    """Compute the WCAG 2 relative luminance of a `#rrggbb` colour."""
    channels = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """Compute the WCAG 2 contrast ratio between two `#rrggbb` colours (1 to 21)."""
    light, dark = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


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


def palette_for(accent: str | None) -> Palette:
    """Build the palette for an issue, themed by an observance's accent colour when given."""
    if not accent:
        return Palette()
    base = Palette()
    readable = contrast_ratio(accent, base.card) >= MIN_CONTRAST
    return Palette(
        accent=accent,
        on_accent=text_on(accent),
        accent_ink=accent if readable else base.ink,
        tint=tint_of(accent, 0.92),
    )
