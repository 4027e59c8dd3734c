"""Colours of every email layout and the WCAG contrast arithmetic that keeps them legible."""

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
