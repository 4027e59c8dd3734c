"""Who: subscribers, topics, consent, suppression and the public subscription pages."""

from __future__ import annotations

from flask import Flask


def load_models() -> None:
    """Import the package's models so their tables join the metadata."""
    import subscribers.models  # noqa: F401


def init_app(app: Flask) -> None:
    """Register the package's pages and commands."""
    from subscribers import api, cli, import_views, public, suppression_views, topic_views, views

    load_models()
    for module in (public, views, import_views, topic_views, suppression_views, cli, api):
        module.init_app(app)
