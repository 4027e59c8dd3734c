"""Real messages through SpamAssassin's stock rules: no rule may fire for what Pinwheel writes.

One campaign message per layout, built as the SMTP backend sends it (renderer, personalization,
MIME builder), and the confirmation email. ``spamassassin -t -L`` runs the local tests only:
no DNS, no network. ``make spamassassin-deps`` installs the Debian package; without it the test
is skipped.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable

import pytest

from campaigns.content.document import Layout, content_from_dict
from campaigns.issues.compiled import render_context
from campaigns.rendering.render import render_issue
from campaigns.rendering.spam_wording import MIN_POINTS
from campaigns.sending.personalize import CampaignMessages, FrozenCampaign, Recipient
from engine.config import Settings
from engine.delivery.mime import build_mime
from engine.spam_rules import phrase_rules
from engine.spamd import report_rules
from subscribers.emails import confirmation_message
from subscribers.models import Subscriber, Topic
from tests.campaigns.seed_issues import SEEDS

pytestmark = pytest.mark.slow

SETTINGS = Settings(
    SECRET_KEY="s" * 32,
    BASE_URL="https://news.example.org",
    SENDER_ADDRESS="Agency News <news@agency.example.gov>",
)
#: One seed issue per layout; seed 001 uses wording that SpamAssassin scores (MORE_SEX).
SEED_OF_LAYOUT = {
    Layout.SPOTLIGHT: "000_4d3826f911b046c4.txt",
    Layout.DIGEST: "001_dbc7b398651e7fd4.txt",
    Layout.ARTICLE: "003_89342d8e81b0a00a.txt",
    Layout.RESOURCE_COLLECTION: "004_943bfdb49416324e.txt",
}
#: Rules that fire only because this test scores a message no mail server has handled.
TEST_SETUP_RULES = {
    # A message gets Received headers from the servers it passes; here it passes none. (DKIM and
    # SPF need DNS, which -L turns off, so no rule about them can fire: DKIM has its own tests.)
    "NO_RECEIVED": "never relayed in this test",
    "NO_RELAYS": "never relayed in this test",
    # 0.001 points on every message with an HTML part. A newsletter has one; the text part
    # beside it is what matters, and MIME_HTML_ONLY (no text part) must not fire.
    "HTML_MESSAGE": "informational",
}


@pytest.fixture(scope="module")
def score(tmp_path_factory: pytest.TempPathFactory) -> Callable[[bytes], dict[str, float]]:
    """Return a function that runs SpamAssassin on a message: the points of each rule fired."""
    found = shutil.which("spamassassin")
    if found is None:
        pytest.skip("spamassassin is not installed (make spamassassin-deps installs it)")
    # SpamAssassin keeps per-user state under ~/.spamassassin: not in the real home.
    env = {**os.environ, "HOME": str(tmp_path_factory.mktemp("spamassassin-home"))}
    cache: dict[bytes, dict[str, float]] = {}

    def run(message: bytes) -> dict[str, float]:
        if message not in cache:
            completed = subprocess.run(
                [found, "-t", "-L"],
                input=message,
                capture_output=True,
                check=True,
                timeout=180,
                env=env,
            )
            out = completed.stdout.decode("utf-8", "replace")
            _, marker, report = out.rpartition("Content analysis details")
            assert marker, out[-2000:]
            cache[message] = {rule.name: rule.points for rule in report_rules(report)}
        return cache[message]

    return run


def _projects_rules(fired: dict[str, float], content_rules: Iterable[str]) -> set[str]:
    """Return the rules Pinwheel must answer for: not setup, not wording, not in its favour."""
    excluded = {*TEST_SETUP_RULES, *content_rules}
    return {
        name
        for name, points in fired.items()
        # A rule with negative points (MAILING_LIST_MULTI: a real list manager) helps.
        if points >= 0 and name not in excluded
    }


@functools.cache
def _campaign_message(seed: str) -> tuple[bytes, frozenset[str]]:
    """Build the seed's message for one reader; return it and the rules the checks warned of."""
    content = content_from_dict(SEEDS[seed])
    rendered = render_issue(content, render_context(SETTINGS, "2026-01-issue"))
    frozen = FrozenCampaign(
        id=42,
        issue_slug="2026-01-issue",
        subject=content.subject,
        from_address=SETTINGS.SENDER_ADDRESS,
        html=rendered.html,
        text=rendered.text,
    )
    reader = Recipient(delivery_id=1, subscriber_id=7, address="ana@example.org", name="Ana Lima")
    message = build_mime(CampaignMessages(SETTINGS, frozen).message(reader))
    warnings = " ".join(c.message for c in rendered.checks if c.code == "spam_wording")
    return message, frozenset(rule.name for rule in phrase_rules() if f"{rule.name} " in warnings)


def test_the_seeds_cover_every_layout():
    assert {Layout(SEEDS[seed]["layout"]) for seed in SEED_OF_LAYOUT.values()} == set(Layout)


@pytest.mark.parametrize("layout", list(SEED_OF_LAYOUT), ids=str)
def test_campaign_message_fires_no_rule_of_the_projects(score, layout):
    message, warned = _campaign_message(SEED_OF_LAYOUT[layout])
    fired = score(message)
    # The issue's own wording is the editors' to weigh; the spam_wording check warns of it.
    wording = {rule.name for rule in phrase_rules()} & set(fired)
    assert {name for name in wording if fired[name] >= MIN_POINTS} <= warned, (fired, warned)
    assert _projects_rules(fired, wording) == set(), fired


def test_seed_001_wording_is_scored_and_was_warned_of(score):
    message, warned = _campaign_message(SEED_OF_LAYOUT[Layout.DIGEST])
    assert "MORE_SEX" in warned
    assert score(message)["MORE_SEX"] > 0


def test_confirmation_email_fires_no_rule_of_the_projects(score):
    reader = Subscriber(id=7, email="ana@example.org", name="Ana Lima")
    topics = [Topic(id=1, name="Human trafficking prevention"), Topic(id=2, name="Digest")]
    fired = score(build_mime(confirmation_message(SETTINGS, reader, topics)))
    # Every word of a system email is Pinwheel's own: wording rules count here too.
    assert _projects_rules(fired, set()) == set(), fired
