"""SpamAssassin's phrase rules: read from its configuration syntax, matched as it matches them."""

from __future__ import annotations

import pytest

from engine import spam_rules
from engine.spam_rules import Target, bundled_rules, find_phrases, parse_rules

CONFIG = r"""
# A comment, and rules of every kind the reader meets.
body MORE_SEX        /increased?.{0,9}(?:sex|stamina)/i
describe MORE_SEX    Talks about a bigger drive for sex
body REMOVE_LINK     m{(?:not interested|unsubscribe here).{0,5}http://}i
body TRAILING        /trailing words\z/
body __SUB_RULE      /only part of a meta rule/
body T_TESTING       /a rule still being tested/
body HAS_EVAL        eval:html_test('font_low_contrast')
body FUZZY_MONEY     /(?!money)<M><O><N><E><Y>/i
body POSIX_CLASS     /[[:alpha:]]{40}/
body ZERO_SCORE      /scores nothing/
header SUBJ_FAMILY   Subject =~ /Your Family/i
header FROM_RULE     From =~ /spammer/
lang de describe MORE_SEX Werden Sie sexuell aktiver
score MORE_SEX 2.799 2.765 2.568 1.413
score ZERO_SCORE 0
score SUBJ_FAMILY 2.910 2.999 2.999 2.999 # n=2
"""


def test_only_scored_phrase_rules_python_reads_alike_are_kept():
    rules = {rule.name: rule for rule in parse_rules(CONFIG)}
    assert set(rules) == {"MORE_SEX", "REMOVE_LINK", "TRAILING", "SUBJ_FAMILY"}
    assert rules["MORE_SEX"].score == pytest.approx(2.799)
    assert rules["MORE_SEX"].description == "Talks about a bigger drive for sex"
    # Without a score line SpamAssassin gives a rule one point.
    assert rules["REMOVE_LINK"].score == 1.0
    assert rules["SUBJ_FAMILY"].target is Target.SUBJECT


def test_perl_syntax_is_translated():
    rules = parse_rules(CONFIG)
    assert [hit.rule.name for hit in find_phrases("Not interested? http://x", rules=rules)] == [
        "REMOVE_LINK"
    ]
    assert find_phrases("ends with trailing words", rules=rules)[0].rule.name == "TRAILING"
    assert find_phrases("trailing words and more", rules=rules) == []


def test_a_hit_names_the_words_as_written_across_line_breaks():
    hits = find_phrases("youth are at increased\n   risk of sex trafficking", rules=bundled_rules())
    assert [(hit.rule.name, hit.phrase) for hit in hits] == [("MORE_SEX", "increased risk of sex")]


def test_subject_rules_apply_to_the_subject_only():
    rules = parse_rules(CONFIG)
    assert find_phrases("Keeping your family safe", rules=rules) == []
    hits = find_phrases("Keeping your family safe", is_subject=True, rules=rules)
    assert [hit.rule.name for hit in hits] == ["SUBJ_FAMILY"]


def test_the_bundled_excerpt_stands_in_without_spamassassin(monkeypatch, tmp_path):
    monkeypatch.setattr(spam_rules, "UPDATED_RULES", tmp_path / "var")
    monkeypatch.setattr(spam_rules, "PACKAGED_RULES", tmp_path / "share")
    spam_rules.reload_rules()
    try:
        assert spam_rules.phrase_rules() == bundled_rules()
        assert "MORE_SEX" in {rule.name for rule in bundled_rules()}
    finally:
        spam_rules.reload_rules()


def test_installed_rules_are_preferred_newest_update_first(monkeypatch, tmp_path):
    packaged = tmp_path / "share"
    updated = tmp_path / "var" / "4.000001" / "updates_spamassassin_org"
    for folder, rule in ((packaged, "OLD_RULE"), (updated, "NEW_RULE")):
        folder.mkdir(parents=True)
        (folder / "20_phrases.cf").write_text(f"body {rule} /phrase/\n")
    monkeypatch.setattr(spam_rules, "UPDATED_RULES", tmp_path / "var")
    monkeypatch.setattr(spam_rules, "PACKAGED_RULES", packaged)
    spam_rules.reload_rules()
    try:
        assert [rule.name for rule in spam_rules.phrase_rules()] == ["NEW_RULE"]
    finally:
        spam_rules.reload_rules()
