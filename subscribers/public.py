"""Public pages: subscribe, confirm, preferences and unsubscribe (GET shows, POST acts)."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, render_template, request
from flask import session as cookie_session
from flask_babel import gettext, lazy_gettext
from flask_babel.speaklater import LazyString

from engine.db import get_database, request_session
from engine.errors import ValidationFailed
from engine.i18n import current_language, use_language
from engine.organisation import Organisation
from engine.organisation_cache import current_organisation
from engine.ratelimit import limiter
from engine.web import csrf, error_response, get_settings
from subscribers.forms import SubscribeForm, parse_preferences, parse_subscribe
from subscribers.models import Subscriber, SubscriberStatus
from subscribers.profile import COMMON_TIMEZONES, LANGUAGES, listed_timezones
from subscribers.service import (
    confirm_subscriber,
    leave_topics,
    preference_topics,
    subscribe,
    update_preferences,
)
from subscribers.suppression import HARD_REASONS, find_suppression, unsubscribe_everywhere
from subscribers.tokens import InvalidToken, Purpose, TokenSigner
from subscribers.topics import (
    PublicTopics,
    TopicChoice,
    Translatable,
    group_by_category,
    topic_text,
)

bp = Blueprint("public", __name__)
#: Per client address; generous for people, tight for scripts.
SUBSCRIBE_LIMIT = "5 per minute;30 per hour"
ONE_CLICK_BODY = ("List-Unsubscribe", "One-Click")


def _signer() -> TokenSigner:
    settings = get_settings()
    return TokenSigner(settings.SECRET_KEY, settings.TOKEN_MAX_AGE_DAYS)


def _subscriber_from(purpose: Purpose, token: str) -> tuple[Subscriber, str]:
    subscriber_id, extra = _signer().load(purpose, token)
    subscriber = request_session().get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.status == SubscriberStatus.ERASED:
        raise InvalidToken(gettext("This link is no longer valid."))
    # A subscriber's own pages speak the language they chose.
    use_language(subscriber.language)
    return subscriber, extra


def _preferences_token(subscriber_id: int, purpose: Purpose, token: str) -> str:
    # Dated like the link that opened the page, so following links never renews them.
    _id, _extra, issued_at = _signer().load_issued(purpose, token)
    return _signer().sign(Purpose.PREFERENCES, subscriber_id, issued_at=issued_at)


#: The choices the subscribe and preferences pages offer, in order, with their words.
FREQUENCY_CHOICES: tuple[tuple[str, LazyString], ...] = (
    ("immediately", lazy_gettext("Each email as we send it")),
    (
        "daily",
        lazy_gettext("A daily digest (one email a day, with everything sent since the last)"),
    ),
    ("weekly", lazy_gettext("A weekly digest (one email a week)")),
)


def _public_topics() -> tuple[TopicChoice, ...]:
    # Outside the request's transaction: on SQLite a writing one holds the write lock from its
    # first statement, which should be the subscribe writes themselves.
    topics: PublicTopics = current_app.extensions["pinwheel.public_topics"]
    return topics.get()


def _subscribe_page(form: SubscribeForm, status: int = 200) -> tuple[str, int]:
    return render_template(
        "public/subscribe.html",
        groups=group_by_category(_public_topics()),
        form=form,
        frequency_choices=FREQUENCY_CHOICES,
    ), status


@bp.get("/subscribe")
def subscribe_form() -> tuple[str, int]:
    return _subscribe_page(SubscribeForm())


@bp.post("/subscribe")
@csrf.exempt
@limiter.limit(SUBSCRIBE_LIMIT)
def subscribe_submit() -> tuple[str, int] | Response:
    """Take a subscribe request from this page or a copy of its form on an allowed site.

    No CSRF token, so the form page sets no cookie: the post acts for nobody signed in. What a
    token also stopped, another site's page posting through its visitors' browsers (each with
    its own rate limit), the ``Origin`` check stops: browsers send it with form posts, and only
    this site and ``SUBSCRIBE_FORM_ORIGINS`` pass. Scripts send none; the rate limit, the
    honeypot, double opt-in and one confirmation email a day per address are for them.
    """
    if not _from_allowed_origin():
        return error_response(
            403,
            "other_site",
            gettext(
                "This form was sent from a page on another site. Please subscribe on our own "
                "subscribe page instead."
            ),
        )
    smtputf8 = get_settings().SMTPUTF8
    form = parse_subscribe(request.form, _public_topics(), smtputf8=smtputf8)
    if form.errors:
        return _subscribe_page(form, 422)
    if not form.honeypot:
        # The confirmation email is queued in this transaction; the scheduler sends it.
        session = request_session()
        subscribe(
            session,
            form.email,
            form.topics,
            source="form",
            ip=request.remote_addr,
            smtputf8=smtputf8,
            frequency=form.frequency,
            language=form.language,
        )
        session.commit()
    return _thank_you_page(), 200


def _from_allowed_origin() -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    origin = origin.lower()
    # Its own origin (a development server on another port than BASE_URL's) and BASE_URL's
    # (behind a proxy whose X-Forwarded-* headers are not trusted) both count as this site.
    own = request.host_url.rstrip("/").lower()
    return origin == own or origin in get_settings().subscribe_form_origins


def _thank_you_page() -> str:
    """The answer to every subscribe post, whatever the address's state, so the form cannot
    tell anyone who is on the list.

    Only the layout's flashed messages depend on the visitor: without any waiting in their
    session it is the same for everyone, rendered once per process and per organisation
    settings (every time while templates reload, in development). With some, it is rendered
    for them alone and never kept.
    """
    if current_app.jinja_env.auto_reload or "_flashes" in cookie_session:
        return render_template("public/subscribed.html")
    organisation = current_organisation()
    # One page per language: the visitor's language is the one thing besides the settings it
    # depends on.
    pages: dict[str, tuple[Organisation, str]] = current_app.extensions.setdefault(
        "pinwheel.thank_you_pages", {}
    )
    kept = pages.get(current_language())
    if kept is None or kept[0] is not organisation:
        kept = pages[current_language()] = (organisation, render_template("public/subscribed.html"))
    return kept[1]


@bp.get("/confirm/<token>")
def confirm_page(token: str) -> str:
    subscriber, _ = _subscriber_from(Purpose.CONFIRM, token)
    return render_template("public/confirm.html", token=token, subscriber=subscriber)


@bp.post("/confirm/<token>")
def confirm_submit(token: str) -> str:
    session = request_session()
    subscriber, _ = _subscriber_from(Purpose.CONFIRM, token)
    topics = confirm_subscriber(session, subscriber, ip=request.remote_addr)
    session.commit()
    entry = find_suppression(session, subscriber.email)
    blocked = entry is not None and entry.reason in HARD_REASONS
    preferences = _preferences_token(subscriber.id, Purpose.CONFIRM, token)
    return render_template(
        "public/confirmed.html", topics=topics, blocked=blocked, preferences_token=preferences
    )


@bp.route("/preferences/<token>", methods=["GET", "POST"])
def preferences(token: str) -> tuple[str, int]:
    session = request_session()
    subscriber, _ = _subscriber_from(Purpose.PREFERENCES, token)
    topics = preference_topics(session, subscriber)
    saved, error = False, None
    if request.method == "POST" and request.form.get("action") == "leave":
        unsubscribe_everywhere(session, subscriber, "preferences", ip=request.remote_addr)
        session.commit()
        return _unsubscribed_page(subscriber.id, Purpose.PREFERENCES, token), 200
    if request.method == "POST" and request.form.get("action") == "leave_topics":
        # The unsubscribe page's "only some emails" form: ticks name the topics to stop.
        ticked = parse_preferences(request.form, topics).topic_ids
        left = leave_topics(
            session, subscriber, [t for t in topics if t.id in ticked], "unsubscribe-page"
        )
        session.commit()
        return _preferences_page(subscriber, token, False, None, left=left)
    if request.method == "POST":
        try:
            choice = parse_preferences(request.form, topics)
            update_preferences(session, subscriber, choice, ip=request.remote_addr)
            session.commit()
            saved = True
        except ValidationFailed as failure:
            session.rollback()
            error = failure
    return _preferences_page(subscriber, token, saved, error)


def _preferences_page(
    subscriber: Subscriber,
    token: str,
    saved: bool,
    error: ValidationFailed | None,
    *,
    left: list[str] | None = None,
) -> tuple[str, int]:
    session = request_session()
    topics = preference_topics(session, subscriber)
    # The language may have just been changed on this page: answer in the new one.
    use_language(subscriber.language)
    page = render_template(
        "public/preferences.html",
        subscriber=subscriber,
        token=token,
        groups=group_by_category(topics),
        chosen=_chosen_topic_ids(subscriber),
        frequencies={s.topic_id: s.frequency for s in subscriber.subscriptions},
        frequency_choices=FREQUENCY_CHOICES,
        languages=LANGUAGES,
        common_timezones=COMMON_TIMEZONES,
        timezones=listed_timezones(),
        saved=saved,
        error=error,
        left=None if left is None else [_topic_name(t) for t in topics if t.slug in left],
    )
    return page, 422 if error else 200


def _chosen_topic_ids(subscriber: Subscriber) -> set[int]:
    return {s.topic_id for s in subscriber.subscriptions if s.status != "unsubscribed"}


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str) -> str:
    subscriber, _ = _subscriber_from(Purpose.UNSUBSCRIBE, token)
    chosen = _chosen_topic_ids(subscriber)
    topics = [t for t in preference_topics(request_session(), subscriber) if t.id in chosen]
    return render_template(
        "public/unsubscribe.html",
        token=token,
        subscriber=subscriber,
        topics=topics,
        preferences_token=_preferences_token(subscriber.id, Purpose.UNSUBSCRIBE, token),
    )


@bp.post("/unsubscribe/<token>")
@csrf.exempt
def unsubscribe_submit(token: str) -> Response | str:
    """Unsubscribe from everything; RFC 8058 one-click posts get an empty 200.

    No CSRF token here: mail providers post without cookies, and the signed link already proves
    the request came from the mailbox.
    """
    session = request_session()
    subscriber_id, extra = _signer().load(Purpose.UNSUBSCRIBE, token)
    subscriber = session.get(Subscriber, subscriber_id)
    campaign_id = int(extra[1:]) if extra.startswith("c") and extra[1:].isdigit() else None
    if subscriber is not None:
        use_language(subscriber.language)
        source = "one-click" if _is_one_click() else "unsubscribe-page"
        unsubscribe_everywhere(
            session, subscriber, source, campaign_id=campaign_id, ip=request.remote_addr
        )
        session.commit()
    if _is_one_click():
        return Response(status=200)
    return _unsubscribed_page(
        subscriber_id if subscriber is not None else None, Purpose.UNSUBSCRIBE, token
    )


def _unsubscribed_page(subscriber_id: int | None, purpose: Purpose, token: str) -> str:
    preferences = (
        None if subscriber_id is None else _preferences_token(subscriber_id, purpose, token)
    )
    return render_template("public/unsubscribed.html", preferences_token=preferences)


def _is_one_click() -> bool:
    return request.form.get(ONE_CLICK_BODY[0]) == ONE_CLICK_BODY[1]


def _topic_name(topic: Translatable) -> str:
    return topic_text(topic, current_language()).name


def _topic_description(topic: Translatable) -> str:
    return topic_text(topic, current_language()).description


def _topic_category(topic: Translatable) -> str:
    return topic_text(topic, current_language()).category


def init_app(app: Flask) -> None:
    """Register the public pages."""
    # Any page naming a topic to readers shows it in the page's language: ``topic | topic_name``.
    app.add_template_filter(_topic_name, "topic_name")
    app.add_template_filter(_topic_description, "topic_description")
    app.add_template_filter(_topic_category, "topic_category")
    app.extensions["pinwheel.public_topics"] = PublicTopics(
        get_database(app), get_settings(app).PAGE_CACHE_SECONDS
    )
    app.register_blueprint(bp)
