"""Who: subscribers, topics, consent, suppression and the public subscription pages."""

from __future__ import annotations

from flask import Flask


def load_models() -> None:
    """Import the package's models so their tables join the metadata."""
    import subscribers.models  # noqa: F401


def init_app(app: Flask) -> None:
    """Register the package's blueprints and commands."""
    from subscribers import public

    load_models()
    public.init_app(app)
