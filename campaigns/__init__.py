"""What and when: issues, rendering, campaigns, observances, sending and the archive."""

from __future__ import annotations

from flask import Flask


def load_models() -> None:
    """Import the package's models so their tables join the metadata."""
    import campaigns.digests.models
    import campaigns.events.models
    import campaigns.feeds.models
    import campaigns.issues.models
    import campaigns.observances.models
    import campaigns.sending.models
    import campaigns.welcome.models  # noqa: F401


def init_app(app: Flask) -> None:
    """Register the package's blueprints and commands."""
    from campaigns import dashboard
    from campaigns.archive import public as archive_public
    from campaigns.content.document import Layout
    from campaigns.corrections import cli as corrections_cli
    from campaigns.corrections import views as correction_views
    from campaigns.demo import cli as demo
    from campaigns.digests import cli as digests_cli
    from campaigns.digests import views as digest_views
    from campaigns.events import cli as events_cli
    from campaigns.events import public as tracking_public
    from campaigns.events import subscriber_history, webhooks
    from campaigns.events import views as report_views
    from campaigns.feeds import cli as feeds_cli
    from campaigns.feeds import views as feed_views
    from campaigns.issues import editor
    from campaigns.issues import views as issue_views
    from campaigns.observances import cli as observance_cli
    from campaigns.observances import views as observance_views
    from campaigns.rendering.topic_digest import PUBLICATION as DIGEST_PUBLICATION
    from campaigns.scheduling import calendar_views
    from campaigns.scheduling import cli as scheduling_cli
    from campaigns.scheduling import views as scheduling_views
    from campaigns.sending import cli as sending_cli
    from campaigns.sending import proof_views
    from campaigns.sending import views as sending_views
    from campaigns.welcome import cli as welcome_cli
    from campaigns.welcome import views as welcome_views
    from engine.organisation_cache import register_publications

    load_models()
    # Each layout is a publication with a footer sentence of its own on the settings page,
    # and so are the daily and weekly digests.
    publications = [
        (layout.value, layout.value.replace("_", " ").capitalize()) for layout in Layout
    ]
    register_publications(app, [*publications, (DIGEST_PUBLICATION, "Daily and weekly digests")])
    subscriber_history.register()
    dashboard.init_app(app)
    issue_views.init_app(app)
    editor.init_app(app)
    archive_public.init_app(app)
    sending_views.init_app(app)
    proof_views.init_app(app)
    scheduling_views.init_app(app)
    sending_cli.init_app(app)
    observance_views.init_app(app)
    calendar_views.init_app(app)
    app.cli.add_command(observance_cli.group)
    scheduling_cli.init_app(app)
    app.cli.add_command(demo.demo_command)
    webhooks.init_app(app)
    tracking_public.init_app(app)
    report_views.init_app(app)
    feed_views.init_app(app)
    feeds_cli.init_app(app)
    digest_views.init_app(app)
    digests_cli.init_app(app)
    welcome_views.init_app(app)
    welcome_cli.init_app(app)
    correction_views.init_app(app)
    corrections_cli.init_app(app)
    app.cli.add_command(events_cli.events_group)
    app.cli.add_command(events_cli.reports_group)
    _init_api(app)


def _init_api(app: Flask) -> None:
    """Register the package's JSON API resources and the ``issues`` commands."""
    from campaigns.corrections import api as corrections_api
    from campaigns.events import api as events_api
    from campaigns.feeds import api as feeds_api
    from campaigns.issues import api as issues_api
    from campaigns.issues import cli as issues_cli
    from campaigns.observances import api as observances_api
    from campaigns.scheduling import api as scheduling_api
    from campaigns.sending import api as sending_api
    from campaigns.welcome import api as welcome_api

    modules = (issues_api, sending_api, scheduling_api, observances_api, events_api, issues_cli)
    for module in modules:
        module.init_app(app)
    feeds_api.init_app(app)
    welcome_api.init_app(app)
    corrections_api.init_app(app)
