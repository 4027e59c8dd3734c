"""SpamAssassin's content phrase rules, read from its own rule files, matched against text.

Spam filters add points for wording whatever its context: "increased risk of sex trafficking"
scores SpamAssassin's MORE_SEX. The maintained list of such wording is SpamAssassin's rule set,
so where it is installed (the ``spamassassin`` package, or a newer copy from ``sa-update``) its
``body`` and ``header Subject`` regular-expression rules with a positive score are read, once
per process. Elsewhere a bundled excerpt (``engine/data/spamassassin-phrases.txt``) stands in.
"""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)

#: ``sa-update`` writes its rules under a folder per SpamAssassin version; SpamAssassin then reads
#: those instead of the ones its package installed.
UPDATED_RULES = Path("/var/lib/spamassassin")
PACKAGED_RULES = Path("/usr/share/spamassassin")
#: Rules with no score line score 1 in SpamAssassin.
DEFAULT_SCORE = 1.0
_RULE = re.compile(r"(body|header)\s+([A-Za-z0-9_]+)\s+(.*)")
_SUBJECT_TEST = re.compile(r"Subject\s+=~\s+(.*)")
_SCORE = re.compile(r"score\s+([A-Za-z0-9_]+)\s+\(?(-?[0-9.]+)")
_DESCRIBE = re.compile(r"describe\s+([A-Za-z0-9_]+)\s+(.*)")
#: SpamAssassin ends a line at an unescaped "#".
_COMMENT = re.compile(r"(?<!\\)#.*")
#: ReplaceTags rules (``<A><M>…``) need that plugin's expansion: they find obfuscated spelling.
_REPLACE_TAG = re.compile(r"<(?:inter|post|pre)\s|<[A-Z][A-Z0-9]?>")
_PERL_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_FLAGS = {"i": re.IGNORECASE, "s": re.DOTALL, "m": re.MULTILINE, "x": re.VERBOSE}
_CLOSING = {"{": "}", "(": ")", "[": "]", "<": ">"}


class Target(StrEnum):
    BODY = "body"
    SUBJECT = "subject"


@dataclass(frozen=True, slots=True)
class PhraseRule:
    """One rule: SpamAssassin applies ``body`` rules to the subject and the text alike."""

    name: str
    target: Target
    pattern: re.Pattern[str]
    score: float
    description: str


@dataclass(frozen=True, slots=True)
class PhraseHit:
    rule: PhraseRule
    #: The words that matched, as written.
    phrase: str


def find_phrases(
    text: str, *, is_subject: bool = False, rules: Sequence[PhraseRule] | None = None
) -> list[PhraseHit]:
    """Return the phrase rules ``text`` trips (by default the installed or bundled ones)."""
    # SpamAssassin joins the lines of a paragraph before its body rules run.
    line = " ".join(text.split())
    if rules is None:
        return list(_installed_hits(line, is_subject))
    return _hits(line, is_subject, rules)


@lru_cache(maxsize=4096)
def _installed_hits(line: str, is_subject: bool) -> tuple[PhraseHit, ...]:
    # The editor's preview checks every text on each change, and most texts have not changed.
    return tuple(_hits(line, is_subject, phrase_rules()))


def _hits(line: str, is_subject: bool, rules: Sequence[PhraseRule]) -> list[PhraseHit]:
    hits = []
    for rule in rules:
        if rule.target is Target.SUBJECT and not is_subject:
            continue
        match = rule.pattern.search(line)
        if match is not None:
            hits.append(PhraseHit(rule, match.group(0).strip()))
    return hits


@lru_cache(maxsize=1)
def phrase_rules() -> tuple[PhraseRule, ...]:
    """Return the installed SpamAssassin's phrase rules, or the bundled excerpt without one."""
    for directory in rule_directories():
        rules = parse_rules(_read_all(sorted(directory.glob("*.cf"))))
        if rules:
            log.debug("%d SpamAssassin phrase rules read from %s", len(rules), directory)
            return rules
    return bundled_rules()


def reload_rules() -> None:
    """Forget the rules read and the texts matched, so the rule files are read again."""
    phrase_rules.cache_clear()
    _installed_hits.cache_clear()


def bundled_rules() -> tuple[PhraseRule, ...]:
    """Return the excerpt of SpamAssassin's phrase rules shipped with Pinwheel."""
    text = resources.files("engine").joinpath("data/spamassassin-phrases.txt").read_text("utf-8")
    return parse_rules(text)


def rule_directories() -> list[Path]:
    """List the folders SpamAssassin would read its rules from, the one it prefers first."""
    updated = sorted(UPDATED_RULES.glob("*/updates_spamassassin_org"), reverse=True)
    return [path for path in (*updated, PACKAGED_RULES) if path.is_dir()]


def _read_all(paths: Iterable[Path]) -> str:
    # Some rule files carry Latin-1 bytes in their non-English descriptions. A file that cannot
    # be read is left out: the check must never break a render.
    texts = []
    for path in paths:
        try:
            texts.append(path.read_text("utf-8", errors="replace"))
        except OSError as error:
            log.warning("SpamAssassin rules in %s cannot be read: %s", path, error)
    return "\n".join(texts)


def parse_rules(text: str) -> tuple[PhraseRule, ...]:
    """Parse SpamAssassin configuration: phrase rules with a positive score, in file order."""
    tests: dict[str, tuple[Target, str]] = {}
    scores: dict[str, float] = {}
    descriptions: dict[str, str] = {}
    for raw in text.splitlines():
        line = _COMMENT.sub("", raw).strip()
        if match := _RULE.fullmatch(line):
            kind, name, rest = match.groups()
            test = _phrase_test(kind, rest)
            if test is not None and not name.startswith(("__", "T_")):
                tests[name] = test
        elif match := _SCORE.match(line):
            with contextlib.suppress(ValueError):  # "score RULE ." and other oddities
                scores[match.group(1)] = float(match.group(2))
        elif match := _DESCRIBE.match(line):
            descriptions.setdefault(match.group(1), match.group(2).strip())
    rules = []
    for name, (target, source) in tests.items():
        score = scores.get(name, DEFAULT_SCORE)
        pattern = _compile(source) if score > 0 else None
        if pattern is not None:
            rules.append(PhraseRule(name, target, pattern, score, descriptions.get(name, "")))
    return tuple(rules)


def _phrase_test(kind: str, rest: str) -> tuple[Target, str] | None:
    if kind == "header":
        match = _SUBJECT_TEST.fullmatch(rest.split(" [if-unset:")[0].strip())
        return (Target.SUBJECT, match.group(1)) if match else None
    if rest.startswith(("/", "m")) and not _REPLACE_TAG.search(rest):
        return Target.BODY, rest
    return None  # eval: tests look at the message's structure, not its words


def _compile(source: str) -> re.Pattern[str] | None:
    """Compile a Perl ``/regex/flags`` (or ``m{regex}flags``) where Python reads it the same."""
    if source.startswith("m") and len(source) > 1:
        source = source[1:]
    opening = source[:1]
    closing = _CLOSING.get(opening, opening)
    end = source.rfind(closing)
    if not opening or end < 1 or not set(source[end + 1 :]) <= set("imsxo"):
        return None
    flags = 0
    for letter in source[end + 1 :]:
        flags |= _FLAGS.get(letter, 0)
    try:
        with warnings.catch_warnings():
            # Python would read a POSIX class such as [[:alpha:]] differently from Perl.
            warnings.simplefilter("error")
            return re.compile(_PERL_ESCAPE.sub(_python_escape, source[1:end]), flags)
    except (re.error, FutureWarning, DeprecationWarning):
        return None


def _python_escape(match: re.Match[str]) -> str:
    letter = match.group(1)
    if letter == "z":
        return r"\Z"
    if letter == "Z":
        return r"(?=\n?\Z)"
    return match.group(0)
