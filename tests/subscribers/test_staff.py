"""Staff pages: subscribers, topics, suppressions, import and export."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from subscribers.models import (
    ImportJob,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
    Topic,
)
from subscribers.search import SubscriberFilter, search_subscribers
from subscribers.suppression import is_suppressed, suppress, unsubscribe_everywhere
from tests.factories import csrf_token_from, login, make_subscriber, make_topic, make_user


@pytest.fixture
def editor(client: FlaskClient, session: Session) -> FlaskClient:
    user = make_user(session, role="editor")
    session.commit()
    login(client, user)
    return client


def _post(client: FlaskClient, page_url: str, url: str, **data):
    token = csrf_token_from(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def test_search_by_address_name_attribute_topic_and_status(session: Session) -> None:
    foster = make_topic(session, "foster")
    ann = make_subscriber(session, "ann@example.org", name="Ann Smith", topics=[foster])
    ann.attributes = {"state": "OH"}
    bob = make_subscriber(session, "bob@example.org", name="Bob Jones")
    bob.attributes = {"state": "TX"}
    unsubscribe_everywhere(session, make_subscriber(session, "cy@example.org"), "page")
    session.flush()

    def found(**filters) -> list[str]:
        page = search_subscribers(session, SubscriberFilter(**filters))
        return [subscriber.email for subscriber in page.items]

    assert found(query="ANN@") == ["ann@example.org"]
    assert found(query="bob j") == ["bob@example.org"]
    assert found(query="state=TX") == ["bob@example.org"]
    assert found(query="100%_") == []
    assert found(topic_id=foster.id) == ["ann@example.org"]
    assert found(status=SubscriberStatus.UNSUBSCRIBED) == ["cy@example.org"]


def test_keyset_pages_cover_everyone_once(session: Session) -> None:
    made = [make_subscriber(session).id for _ in range(7)]
    seen: list[int] = []
    page = search_subscribers(session, SubscriberFilter(), limit=3)
    seen += [s.id for s in page.items]
    while page.next_after:
        page = search_subscribers(session, SubscriberFilter(), after=page.next_after, limit=3)
        seen += [s.id for s in page.items]
    assert seen == sorted(made, reverse=True)
    back = search_subscribers(session, SubscriberFilter(), before=seen[3], limit=3)
    assert [s.id for s in back.items] == seen[:3]


def test_list_and_subscriber_page_with_history(editor: FlaskClient, session: Session) -> None:
    topic = make_topic(session, name="Foster care")
    subscriber = make_subscriber(session, "page@example.org", topics=[topic])
    unsubscribe_everywhere(session, subscriber, "one-click", campaign_id=9, ip="192.0.2.4")
    session.commit()
    listing = editor.get("/admin/subscribers/?q=page").get_data(as_text=True)
    assert "page@example.org" in listing
    page = editor.get(f"/admin/subscribers/{subscriber.id}").get_data(as_text=True)
    assert "Foster care" in page
    assert "Unsubscribed (via one-click), from campaign 9" in page and "192.0.2.4" in page


def test_edit_subscriber(editor: FlaskClient, session: Session) -> None:
    subscriber = make_subscriber(session)
    session.commit()
    url = f"/admin/subscribers/{subscriber.id}"
    response = _post(editor, url, url + "/edit", name="=Ann", language="es",
                     timezone="America/Denver", attributes="state=OH\nrole=judge")  # fmt: skip
    assert response.status_code == 302
    session.expire_all()
    subscriber = session.get(Subscriber, subscriber.id)
    assert (subscriber.name, subscriber.language, subscriber.timezone) == (
        "=Ann", "es", "America/Denver",
    )  # fmt: skip
    assert subscriber.attributes == {"state": "OH", "role": "judge"}
    session.commit()
    bad = _post(editor, url, url + "/edit", name="x", timezone="Nowhere/Land")
    assert bad.status_code == 422 and "not a known time zone" in bad.get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "Ann\r\nBcc: all@example.org"}, "The name contains a carriage return (U+000D)"),
        ({"attributes": "state=O\x00H"}, "The attribute &#39;state&#39; contains a null"),
    ],
)
def test_edit_refuses_control_characters_naming_the_field(
    editor: FlaskClient, session: Session, fields: dict[str, str], message: str
) -> None:
    subscriber = make_subscriber(session, name="Ann")
    session.commit()
    url = f"/admin/subscribers/{subscriber.id}"
    response = _post(editor, url, url + "/edit", **{"name": "Ann", **fields})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    session.expire_all()
    assert (session.get(Subscriber, subscriber.id).name, subscriber.attributes) == ("Ann", {})


def test_erase_from_the_staff_page(editor: FlaskClient, session: Session) -> None:
    subscriber_id = make_subscriber(session, "gone@example.org").id
    session.commit()
    url = f"/admin/subscribers/{subscriber_id}"
    assert _post(editor, url, url + "/erase").status_code == 302
    session.expire_all()
    assert session.get(Subscriber, subscriber_id) is not None
    session.commit()
    assert _post(editor, url, url + "/erase", confirm="yes").status_code == 302
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(Subscriber)) == 0
    entry = session.scalar(sa.select(Suppression))
    assert entry.reason == SuppressionReason.ERASED and entry.address is None


def test_approver_may_look_but_not_edit(client: FlaskClient, session: Session) -> None:
    subscriber = make_subscriber(session)
    user = make_user(session, role="approver")
    session.commit()
    login(client, user)
    assert client.get("/admin/subscribers/").status_code == 200
    url = f"/admin/subscribers/{subscriber.id}"
    assert _post(client, url, url + "/erase", confirm="yes").status_code == 403
    assert client.get("/admin/subscribers/import/").status_code == 403


def test_topics_page_creates_topics(editor: FlaskClient, session: Session) -> None:
    response = _post(editor, "/admin/topics/", "/admin/topics/", name="Foster care",
                     slug="foster-care", category="Child welfare practice",
                     visibility="public", opt_in="single")  # fmt: skip
    assert response.status_code == 302
    page = editor.get("/admin/topics/").get_data(as_text=True)
    assert "Foster care" in page and "foster-care" in page
    again = _post(editor, "/admin/topics/", "/admin/topics/", name="X", slug="foster-care")
    assert again.status_code == 422 and "already exists" in again.get_data(as_text=True)
    broken = _post(editor, "/admin/topics/", "/admin/topics/", name="Kin\ncare", slug="kin")
    assert broken.status_code == 422
    assert "The topic name contains a line break (U+000A)" in broken.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Topic)) == 1


def test_suppressions_add_and_lift(editor: FlaskClient, session: Session) -> None:
    response = _post(
        editor, "/admin/suppressions/", "/admin/suppressions/",
        address="Block@Example.org", reason="manual", note="asked by phone",
    )  # fmt: skip
    assert response.status_code == 302
    entry = session.scalar(sa.select(Suppression))
    assert entry.address == "block@example.org" and entry.note == "asked by phone"
    session.commit()
    assert "block@example.org" in editor.get("/admin/suppressions/?q=block").get_data(as_text=True)
    url = f"/admin/suppressions/{entry.id}/lift"
    assert _post(editor, "/admin/suppressions/", url).status_code == 302
    assert not is_suppressed(session, "block@example.org")
    session.commit()


def test_suppression_of_an_address_with_a_curly_apostrophe_names_it(
    editor: FlaskClient, session: Session
) -> None:
    response = _post(
        editor, "/admin/suppressions/", "/admin/suppressions/",
        address="o\u2019brien@example.org", reason="manual",
    )  # fmt: skip
    page = editor.get(response.headers["Location"]).get_data(as_text=True)
    assert "U+2019 RIGHT SINGLE QUOTATION MARK" in page
    assert session.scalar(sa.select(Suppression)) is None


def test_import_upload_progress_and_error_report(
    app: Flask, editor: FlaskClient, session: Session
) -> None:
    topic = make_topic(session, "foster")
    suppress(session, "blocked@example.org", SuppressionReason.COMPLAINT, source="sendgrid")
    session.commit()
    data = b"\xef\xbb\xbfemail,name\nok@example.org,Ok\nbad-address,Bad\nblocked@example.org,No\n"
    token = csrf_token_from(editor.get("/admin/subscribers/import/").get_data(as_text=True))
    response = editor.post(
        "/admin/subscribers/import/",
        data={"csrf_token": token, "topics": [str(topic.id)],
              "file": (io.BytesIO(data), "people.csv")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 302
    job_id = session.scalar(sa.select(ImportJob.id))
    session.commit()
    app.extensions["subscribers.import_threads"][job_id].join(timeout=30)
    page = editor.get(response.headers["Location"]).get_data(as_text=True)
    assert "<progress" in page and "Finished" in page
    session.expire_all()
    job = session.get(ImportJob, job_id)
    assert (job.created, job.skipped, job.errors, job.percent) == (1, 1, 1, 100)
    session.commit()
    report = editor.get(f"/admin/subscribers/import/{job.id}/errors.csv")
    assert report.status_code == 200 and b"bad-address" in report.data


def test_export_download_escapes_formulas(editor: FlaskClient, session: Session) -> None:
    topic = make_topic(session)
    make_subscriber(session, "f@example.org", name="=1+1", topics=[topic])
    make_subscriber(session, "other@example.org")
    session.commit()
    response = editor.get(f"/admin/subscribers/export.csv?topic={topic.id}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert "'=1+1" in body and "other@example.org" not in body
