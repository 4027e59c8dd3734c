"""The feeds page, the API and the CLI: add, check now, pause, resume, remove, and bad input."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from campaigns.feeds import api as feeds_api
from campaigns.feeds import views
from campaigns.feeds.models import FeedItem, WatchedFeed
from campaigns.issues.models import Issue
from engine.audit import AuditEntry
from subscribers.models import Topic
from tests.api.conftest import ApiClient, api, api_as, secrets  # noqa: F401  (fixtures)
from tests.campaigns.feeds.conftest import FeedServer, rss, watch
from tests.factories import login, make_user, read_rows


@pytest.mark.usefixtures("csrf_disabled")
def test_the_page_adds_a_feed_checks_it_and_makes_a_draft(
    editor_client: FlaskClient, session: Session, topic: Topic, feed_server: FeedServer
) -> None:
    page = editor_client.get("/admin/feeds/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>Feeds</h1>" in html and "No feeds are watched yet." in html
    assert '<label for="url">' in html and '<label for="topic">' in html

    url = feed_server.serve(body=rss([2, 1]))
    added = editor_client.post(
        "/admin/feeds/", data={"url": url, "topic": "foster-care"}, follow_redirects=True
    )
    html = added.get_data(as_text=True)
    assert f"Now watching {url} for Foster care." in html
    assert "First check: recorded the 2 items already in the feed" in html
    (feed,) = read_rows(session, WatchedFeed)
    assert "Watching" in html and "Agency News" in html

    feed_server.serve(body=rss([4, 3, 2, 1]))
    checked = editor_client.post(f"/admin/feeds/{feed.id}/check", follow_redirects=True)
    html = checked.get_data(as_text=True)
    assert "2 new items made a draft issue for review." in html
    (issue,) = read_rows(session, Issue)
    assert f'/admin/issues/{issue.id}/preview">Latest draft' in html

    paused = editor_client.post(f"/admin/feeds/{feed.id}/pause", follow_redirects=True)
    assert "Agency News paused." in paused.get_data(as_text=True)
    assert '<span class="status">Paused</span>' in paused.get_data(as_text=True)
    resumed = editor_client.post(f"/admin/feeds/{feed.id}/resume", follow_redirects=True)
    assert "resumed" in resumed.get_data(as_text=True)

    removed = editor_client.post(f"/admin/feeds/{feed.id}/remove", follow_redirects=True)
    assert "Stopped watching Agency News." in removed.get_data(as_text=True)
    assert read_rows(session, WatchedFeed) == [] and read_rows(session, FeedItem) == []
    assert len(read_rows(session, Issue)) == 1  # the draft stays
    actions = {entry.action for entry in read_rows(session, AuditEntry)}
    assert {"feed.add", "feed.draft", "feed.pause", "feed.resume", "feed.remove"} <= actions


@pytest.mark.usefixtures("csrf_disabled")
def test_the_page_says_what_is_wrong_with_a_feed(
    editor_client: FlaskClient, session: Session, topic: Topic, feed_server: FeedServer
) -> None:
    bad = editor_client.post("/admin/feeds/", data={"url": "not a url", "topic": "foster-care"})
    assert bad.status_code == 422
    assert "must be one web address" in bad.get_data(as_text=True)
    assert 'value="not a url"' in bad.get_data(as_text=True)

    url = feed_server.serve(status=404, body=b"gone", content_type="text/plain")
    failing = editor_client.post(
        "/admin/feeds/", data={"url": url, "topic": "foster-care"}, follow_redirects=True
    )
    html = failing.get_data(as_text=True)
    assert "The check failed: The feed&#39;s server answered 404 Not Found." in html
    assert "Last check failed" in html

    again = editor_client.post("/admin/feeds/", data={"url": url, "topic": "foster-care"})
    assert again.status_code == 409 and "already watched" in again.get_data(as_text=True)


def test_approvers_do_not_see_or_open_the_page(
    client: FlaskClient, session: Session, topic: Topic
) -> None:
    user = make_user(session, role="approver")
    session.commit()
    login(client, user)
    assert client.get("/admin/feeds/").status_code == 403
    assert 'href="/admin/feeds/"' not in client.get("/admin/").get_data(as_text=True)


def test_the_api_lists_adds_checks_pauses_and_removes(
    api: ApiClient,  # noqa: F811
    session: Session,
    topic: Topic,
    feed_server: FeedServer,
) -> None:
    url = feed_server.serve(body=rss([1]))
    created = api.post("/feeds", json={"url": url, "topic": "foster-care"})
    assert created.status_code == 201, created.get_json()
    feed = created.get_json()
    assert feed["topic"] == "foster-care" and feed["primed"] is False and feed["active"] is True
    assert api.post("/feeds", json={"url": url, "topic": "foster-care"}).status_code == 409

    first = api.post(f"/feeds/{feed['id']}/check").get_json()
    assert first["outcome"] == "first_check" and first["issue_id"] is None
    feed_server.serve(body=rss([4, 3, 2, 1]))
    drafted = api.post(f"/feeds/{feed['id']}/check").get_json()
    assert drafted["outcome"] == "drafted" and drafted["new_items"] == 3
    again = api.post(f"/feeds/{feed['id']}/check").get_json()
    assert again["outcome"] == "nothing_new" and again["issue_id"] is None

    listed = api.get("/feeds").get_json()["items"]
    assert [(row["drafts_made"], row["last_issue_id"]) for row in listed] == [
        (1, drafted["issue_id"])
    ]
    paused = api.patch(f"/feeds/{feed['id']}", json={"active": False}).get_json()
    assert paused["active"] is False
    assert api.delete(f"/feeds/{feed['id']}").status_code == 204
    assert api.get(f"/feeds/{feed['id']}").status_code == 404
    assert api.post(f"/feeds/{feed['id']}/check").status_code == 404


@pytest.mark.usefixtures("csrf_disabled")
def test_check_now_answers_a_bad_redirect_in_words_and_a_removed_feed_with_404(
    api: ApiClient,  # noqa: F811
    editor_client: FlaskClient,
    session: Session,
    topic: Topic,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = feed_server.serve(status=302, headers={"Location": "http://[::1"})
    feed = watch(session, url, topic)
    checked = api.post(f"/feeds/{feed.id}/check")
    assert checked.status_code == 200
    assert checked.get_json()["outcome"] == "failed"
    assert "not a web address" in checked.get_json()["message"]
    page = editor_client.post(f"/admin/feeds/{feed.id}/check", follow_redirects=True)
    assert page.status_code == 200 and "not a web address" in page.get_data(as_text=True)

    # Removed after the page (or the API) looked it up, before the check claimed it.
    monkeypatch.setattr(views, "get_feed", lambda *_args: None)
    monkeypatch.setattr(feeds_api, "get_feed", lambda *_args: None)
    session.execute(sa.delete(WatchedFeed).where(WatchedFeed.id == feed.id))
    session.commit()
    gone = editor_client.post(f"/admin/feeds/{feed.id}/check")
    assert gone.status_code == 404
    assert f"There is no watched feed {feed.id}." in gone.get_data(as_text=True)
    gone_api = api.post(f"/feeds/{feed.id}/check")
    assert gone_api.status_code == 404
    assert "being checked" not in gone_api.get_data(as_text=True)


def test_the_api_answers_bad_input_with_a_clear_error(
    api_as: Callable[[str], ApiClient],  # noqa: F811
    topic: Topic,
) -> None:
    editor = api_as("editor")
    missing = editor.post("/feeds", json={"url": "https://news.example.gov/feed"})
    assert missing.status_code == 422 and "topic" in missing.get_json()["error"]["details"]["json"]
    loopback = editor.post("/feeds", json={"url": "http://127.0.0.2/feed", "topic": "foster-care"})
    assert loopback.status_code == 422
    assert "PINWHEEL_FEED_ALLOWED_HOSTS" in loopback.get_json()["error"]["message"]
    unknown = editor.post("/feeds", json={"url": "https://a.example/f", "topic": "nope"})
    assert unknown.status_code == 422 and "no topic" in unknown.get_json()["error"]["message"]
    assert api_as("approver").get("/feeds").status_code == 403


def test_the_cli_adds_lists_checks_and_removes(
    runner: FlaskCliRunner, session: Session, topic: Topic, feed_server: FeedServer
) -> None:
    url = feed_server.serve(body=rss([1]))
    added = runner.invoke(args=["feeds", "add", url, "--topic", "foster-care"])
    assert added.exit_code == 0, added.output
    assert "Watching feed 1 for Foster care" in added.output
    assert "Feed 1: First check: recorded the 1 item already in the feed" in added.output

    feed_server.serve(body=rss([3, 2, 1]))
    checked = runner.invoke(args=["feeds", "check", "--id", "1"])
    assert checked.exit_code == 0, checked.output
    assert "Feed 1: 2 new items made a draft issue for review. Draft issue 1." in checked.output
    assert runner.invoke(args=["feeds", "check"]).output == "No feed is due for a check.\n"

    listed = json.loads(runner.invoke(args=["feeds", "list", "--json"]).output)
    assert [(row["id"], row["drafts_made"], row["topic"]) for row in listed] == [
        (1, 1, "foster-care")
    ]
    assert "foster-care" in runner.invoke(args=["feeds", "list"]).output
    removed = runner.invoke(args=["feeds", "remove", "1"])
    assert removed.exit_code == 0 and "Stopped watching feed 1" in removed.output


def test_the_cli_refuses_bad_input_with_exit_code_2(
    runner: FlaskCliRunner, session: Session, topic: Topic, feed_server: FeedServer
) -> None:
    for args, message in [
        (["feeds", "add", "ftp://x.example/f", "--topic", "foster-care"], "https://"),
        (["feeds", "add", "https://x.example/f", "--topic", "nope"], "no topic"),
        (["feeds", "remove", "7"], "There is no watched feed 7."),
        (["feeds", "check", "--id", "7"], "There is no watched feed 7."),
        (["feeds", "remove", "0"], "0"),
    ]:
        result = runner.invoke(args=args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output
        assert "Traceback" not in result.output

    feed = watch(session, feed_server.serve(status=500, body=b"x"), topic)
    failed = runner.invoke(args=["feeds", "check", "--id", str(feed.id)])
    assert failed.exit_code == 1
    assert "the check failed: The feed's server answered 500" in failed.output
