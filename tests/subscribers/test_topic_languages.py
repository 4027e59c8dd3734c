"""A topic's name and description in readers' languages: stored, set by staff, shown to readers."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from campaigns.demo.content import DEMO_TOPICS, DEMO_TOPICS_ES
from engine.config import Settings
from engine.errors import ValidationFailed
from subscribers.emails import confirmation_message
from subscribers.links import SubscriberLinks
from subscribers.models import Topic
from subscribers.topics import (
    TopicChoice,
    TopicText,
    create_topic,
    ensure_default_topics,
    topic_text,
    update_topic,
)
from tests.factories import csrf_token_from, login, make_subscriber, make_topic, make_user

SPANISH = {
    "es": {"name": "Trata de personas", "description": "Guía y alertas.", "category": "Práctica"}
}


def _choice(translations: dict[str, dict[str, str]]) -> TopicChoice:
    return TopicChoice(1, "t", "Human trafficking", "Practice", "Guidance and alerts.", "double",
                       1, translations)  # type: ignore[arg-type]  # fmt: skip


def test_a_topic_reads_in_spanish_and_falls_back_to_english_field_by_field() -> None:
    assert topic_text(_choice(SPANISH), "es") == TopicText(
        "Trata de personas", "Guía y alertas.", "Práctica"
    )
    assert topic_text(_choice(SPANISH), "es-MX").name == "Trata de personas"
    assert topic_text(_choice(SPANISH), "en").name == "Human trafficking"
    assert topic_text(_choice(SPANISH), "fr").name == "Human trafficking"
    only_name = _choice({"es": {"name": "Trata de personas", "description": " "}})
    assert topic_text(only_name, "es") == TopicText(
        "Trata de personas", "Guidance and alerts.", "Practice"
    )
    assert topic_text(_choice({}), "es") == TopicText(
        "Human trafficking", "Guidance and alerts.", "Practice"
    )


def test_translations_are_checked_merged_and_cleared(session: Session) -> None:
    topic = create_topic(session, "trafficking", "Human trafficking", translations=SPANISH)
    assert topic.translations == SPANISH
    update_topic(session, topic, {"translations": {"es": {"description": "", "category": ""}}})
    assert topic.translations == {"es": {"name": "Trata de personas"}}
    update_topic(session, topic, {"translations": {"es": {"name": ""}}})
    assert topic.translations == {}
    with pytest.raises(ValidationFailed, match="in these languages: es"):
        update_topic(session, topic, {"translations": {"fr": {"name": "Traite"}}})
    with pytest.raises(ValidationFailed, match="Spanish name contains"):
        update_topic(session, topic, {"translations": {"es": {"name": "Trata\nde"}}})
    with pytest.raises(ValidationFailed, match="at most 200"):
        create_topic(session, "long", "Long", translations={"es": {"name": "x" * 201}})
    with pytest.raises(ValidationFailed, match="Spanish category must be at most 120"):
        create_topic(session, "long", "Long", translations={"es": {"category": "x" * 121}})
    with pytest.raises(ValidationFailed, match="a category, nothing else"):
        create_topic(session, "odd", "Odd", translations={"es": {"slug": "raro"}})


@pytest.fixture
def topics(session: Session) -> tuple[Topic, Topic]:
    spanish = make_topic(session, "trafficking", name="Human trafficking", category="Practice",
                         description="Guidance and alerts.", translations=SPANISH)  # fmt: skip
    english_only = make_topic(session, "foster-care", name="Foster care", category="Families",
                              description="News for foster families.")  # fmt: skip
    make_topic(session, "misc", name="Miscellany")  # no category: "Other topics"
    session.commit()
    return spanish, english_only


def test_the_spanish_subscribe_page_names_topics_in_spanish(
    client: FlaskClient, topics: tuple[Topic, Topic]
) -> None:
    spanish = client.get("/subscribe", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Trata de personas" in spanish and "Guía y alertas." in spanish
    assert "Human trafficking" not in spanish
    # A topic without a Spanish form shows its English.
    assert "Foster care" in spanish and "News for foster families." in spanish
    # Categories head their fieldsets in the page's language too.
    assert "<legend>Práctica</legend>" in spanish and "<legend>Families</legend>" in spanish
    assert "<legend>Otros temas</legend>" in spanish
    english = client.get("/subscribe", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Human trafficking" in english and "Trata de personas" not in english


def test_a_spanish_reader_s_own_pages_name_topics_in_spanish(
    client: FlaskClient, session: Session, settings: Settings, topics: tuple[Topic, Topic]
) -> None:
    reader = make_subscriber(session, language="es", topics=list(topics))
    reader_id, trafficking_id = reader.id, topics[0].id
    session.commit()
    links = SubscriberLinks.from_settings(settings)
    for url in (links.preferences(reader_id), links.unsubscribe(reader_id)):
        html = client.get(url.removeprefix(settings.BASE_URL)).get_data(as_text=True)
        assert "Trata de personas" in html and "Human trafficking" not in html
        assert "Foster care" in html
    preferences = links.preferences(reader_id).removeprefix(settings.BASE_URL)
    token = csrf_token_from(client.get(preferences).get_data(as_text=True))
    left = client.post(
        preferences,
        data={"csrf_token": token, "action": "leave_topics", "topics": str(trafficking_id)},
    ).get_data(as_text=True)
    assert "Trata de personas" in left and "Human trafficking" not in left


def test_the_confirmation_email_names_topics_in_the_reader_s_language(
    session: Session, settings: Settings, topics: tuple[Topic, Topic]
) -> None:
    spanish = make_subscriber(session, language="es")
    english = make_subscriber(session, language="en")
    message = confirmation_message(settings, spanish, list(topics))
    assert "Trata de personas" in message.html and "Trata de personas" in message.text
    assert "Human trafficking" not in message.text and "Foster care" in message.text
    assert "Human trafficking" in confirmation_message(settings, english, list(topics)).text


@pytest.fixture
def editor(client: FlaskClient, session: Session) -> FlaskClient:
    user = make_user(session, role="editor")
    session.commit()
    login(client, user)
    return client


def _post(client: FlaskClient, page_url: str, url: str, **data: str):  # type: ignore[no-untyped-def]
    token = csrf_token_from(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def test_staff_set_the_spanish_forms_when_creating_and_editing(
    editor: FlaskClient, session: Session
) -> None:
    created = _post(editor, "/admin/topics/", "/admin/topics/", name="Foster care",
                    slug="foster-care", name_es="Cuidado de crianza")  # fmt: skip
    assert created.status_code == 302
    topic = session.query(Topic).filter_by(slug="foster-care").one()
    assert topic.translations == {"es": {"name": "Cuidado de crianza"}}
    topic_id = topic.id
    session.commit()
    edit_url = f"/admin/topics/{topic_id}/edit"
    assert 'value="Cuidado de crianza"' in editor.get(edit_url).get_data(as_text=True)
    saved = _post(editor, edit_url, f"/admin/topics/{topic_id}", name="Foster care",
                  visibility="public", opt_in="double", name_es="Acogimiento familiar",
                  description_es="Noticias para familias.", category_es="Familias")  # fmt: skip
    assert saved.status_code == 302
    session.expire_all()
    assert topic.translations == {
        "es": {
            "name": "Acogimiento familiar",
            "description": "Noticias para familias.",
            "category": "Familias",
        }
    }
    session.commit()
    refused = _post(editor, edit_url, f"/admin/topics/{topic_id}", name="Foster care",
                    name_es="Acogimiento\nfamiliar")  # fmt: skip
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "The topic&#39;s Spanish name contains" in page
    session.expire_all()
    assert topic.translations["es"]["name"] == "Acogimiento familiar"


def test_the_cli_sets_the_spanish_forms(runner: FlaskCliRunner) -> None:
    created = runner.invoke(
        args=["topics", "create", "foster-care", "--name", "Foster care",
              "--name-es", "Cuidado de crianza"]
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    updated = runner.invoke(
        args=["topics", "update", "foster-care", "--description-es", "Noticias para familias.",
              "--category-es", "Familias"]
    )  # fmt: skip
    assert updated.exit_code == 0, updated.output
    listed = json.loads(runner.invoke(args=["topics", "list", "--json"]).output)
    assert listed[0]["translations"] == {
        "es": {
            "name": "Cuidado de crianza",
            "description": "Noticias para familias.",
            "category": "Familias",
        }
    }
    bad = runner.invoke(args=["topics", "update", "foster-care", "--name-es", "Cuidado\tde"])
    assert bad.exit_code == 2 and "Spanish name contains" in bad.output
    nothing = runner.invoke(args=["topics", "update", "foster-care"])
    assert nothing.exit_code == 2 and "Nothing to change" in nothing.output


def test_the_starting_and_demo_catalogues_have_spanish_forms(session: Session) -> None:
    assert {slug for slug, *_rest in DEMO_TOPICS} == set(DEMO_TOPICS_ES)
    created = ensure_default_topics(session)
    assert created and all(topic.translations["es"]["name"] for topic in created)
    foster = next(topic for topic in created if topic.slug == "foster-care")
    assert topic_text(foster, "es").name == "Cuidado de crianza"
    assert topic_text(foster, "es").category == "Práctica del bienestar infantil"
