"""The staff page of watched feeds: add one for a topic, check it now, pause, resume, remove."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from campaigns.feeds.checking import CheckOutcome, FeedCheck, check_feed
from campaigns.feeds.egress import AddressPolicy
from campaigns.feeds.service import add_feed, get_feed, list_feeds, remove_feed, set_feed_active
from engine.auth import roles_required
from engine.db import get_database, request_session
from engine.errors import PinwheelError
from engine.users import Role
from engine.web import add_admin_nav, get_settings
from subscribers.topics import list_topics

bp = Blueprint("feeds", __name__, url_prefix="/admin/feeds")


def _page(status: int = 200, **extra: Any) -> tuple[str, int]:
    session = request_session()
    body = render_template(
        "feeds/index.html",
        feeds=list_feeds(session),
        topics=list_topics(session),
        check_minutes=get_settings().FEED_CHECK_MINUTES,
        **extra,
    )
    return body, status


@bp.get("/")
@roles_required(Role.EDITOR)
def index() -> tuple[str, int]:
    return _page()


@bp.post("/")
@roles_required(Role.EDITOR)
def add() -> Response | tuple[str, int]:
    session = request_session()
    policy = AddressPolicy.from_setting(get_settings().FEED_ALLOWED_HOSTS)
    try:
        feed = add_feed(
            session,
            request.form.get("url", ""),
            request.form.get("topic", ""),
            policy=policy,
            actor=current_user,
        )
    except PinwheelError as error:
        session.rollback()
        return _page(error.status, error=error.message, entered=request.form)
    session.commit()
    flash(f"Now watching {feed.url} for {feed.topic.name}.", "info")
    _flash_result(_check(feed.id))
    return redirect(url_for("feeds.index"))


@bp.post("/<int:feed_id>/check")
@roles_required(Role.EDITOR)
def check(feed_id: int) -> Response:
    get_feed(request_session(), feed_id)
    _flash_result(_check(feed_id))
    return redirect(url_for("feeds.index"))


def _check(feed_id: int) -> FeedCheck:
    # End the page's own transaction first (a commit, which leaves the signed-in user loaded):
    # the check writes in transactions of its own, and on SQLite this one would hold them up.
    request_session().commit()
    return check_feed(get_database(), get_settings(), feed_id, actor=current_user)


def _flash_result(result: FeedCheck) -> None:
    if result.outcome is CheckOutcome.FAILED:
        flash(f"The check failed: {result.message}", "error")
    else:
        flash(result.message, "info")


@bp.post("/<int:feed_id>/pause")
@roles_required(Role.EDITOR)
def pause(feed_id: int) -> Response:
    return _set_active(feed_id, active=False)


@bp.post("/<int:feed_id>/resume")
@roles_required(Role.EDITOR)
def resume(feed_id: int) -> Response:
    return _set_active(feed_id, active=True)


def _set_active(feed_id: int, *, active: bool) -> Response:
    session = request_session()
    feed = get_feed(session, feed_id)
    set_feed_active(session, feed, active, actor=current_user)
    session.commit()
    state = "resumed: the scheduler checks it again" if active else "paused"
    flash(f"{feed.display_name} {state}.", "info")
    return redirect(url_for("feeds.index"))


@bp.post("/<int:feed_id>/remove")
@roles_required(Role.EDITOR)
def remove(feed_id: int) -> Response:
    session = request_session()
    feed = get_feed(session, feed_id)
    name = feed.display_name
    remove_feed(session, feed, actor=current_user)
    session.commit()
    flash(f"Stopped watching {name}. The drafts it made stay in the issues list.", "info")
    return redirect(url_for("feeds.index"))


def init_app(app: Flask) -> None:
    """Register the feeds page."""
    app.register_blueprint(bp)
    add_admin_nav(app, "feeds.index", "Feeds", group="Content", roles=(Role.EDITOR,), position=60)
