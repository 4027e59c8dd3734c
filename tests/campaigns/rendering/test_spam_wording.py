"""The spam wording check: it warns, never blocks, and names the phrase and the block."""

from __future__ import annotations

import pytest

from engine import spam_rules
from engine.render.accessibility import Severity
from tests.campaigns.rendering.factories import make_issue, render
from tests.campaigns.seed_issues import SEEDS


@pytest.fixture(params=["installed", "bundled"])
def rule_source(request, monkeypatch, tmp_path):
    """Run each test with SpamAssassin's installed rules (where present) and without them."""
    if request.param == "bundled":
        monkeypatch.setattr(spam_rules, "UPDATED_RULES", tmp_path / "none")
        monkeypatch.setattr(spam_rules, "PACKAGED_RULES", tmp_path / "none")
    spam_rules.reload_rules()
    yield request.param
    spam_rules.reload_rules()


def _wording(data):
    _, rendered = render(data)
    return [check for check in rendered.checks if check.code == "spam_wording"]


def test_seed_001_is_warned_about_the_phrase_it_must_use(rule_source):
    [check] = _wording(SEEDS["001_dbc7b398651e7fd4.txt"])
    assert check.severity is Severity.WARNING and not check.is_error
    assert check.block_id == "intro"
    assert "\u201cincreased risk of sex\u201d" in check.message
    assert "MORE_SEX 2.8" in check.message
    assert "Discussing this subject is fine" in check.message
    assert "plain-text part" in check.message and "reputation" in check.message


def test_a_clean_seed_is_not_warned(rule_source):
    assert _wording(SEEDS["002_fc2c3581881552cb.txt"]) == []


def test_subject_rules_look_at_the_subject(rule_source):
    data = make_issue(subject="Keeping your family safe this winter")
    [check] = _wording(data)
    assert check.block_id is None
    assert check.message.startswith("The subject contains \u201cyour family\u201d")
    assert "SUBJ_YOUR_FAMILY" in check.message
