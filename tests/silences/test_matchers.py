"""Silence matchers (spec: conversation, section 3): reading chat words and JSON, matching,
and one clear error for every bad matcher; properties over generated matchers and text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.command import Severity
from rules.silences import (
    AlertFacts,
    Matcher,
    MatcherError,
    describe,
    facts_of,
    matches_all,
    parse_mapping,
    parse_words,
    to_mapping,
)
from tests.fuzz.budget import fuzz

DB1 = AlertFacts(rule="disk-full", entity="db1", severity=Severity.MAJOR,
                 tags={"mount": "/var", "host": "db1.example"})


@pytest.mark.parametrize(("words", "hit"), [
    (["disk-full"], True), (["rule=disk-*"], True), (["rule=cpu"], False),
    (["entity=DB1"], True), (["entity=db?"], True), (["entity=db10"], False),
    (["severity>=MAJOR"], True), (["severity>=critical"], False), (["severity<=5"], True),
    (["severity<=minor"], False), (["severity=major"], True), (["tags.mount=/var*"], True),
    (["tags.mount=/home"], False), (["tags.missing=x"], False),
    (["entity=db1", "severity>=warning", "tags.host=*.example"], True),
    (["entity=db1", "rule=cpu"], False),
])
def test_matching(words: list[str], hit: bool) -> None:
    assert matches_all(parse_words(words), DB1) is hit


def test_an_alert_without_severity_fails_severity_matchers() -> None:
    plain = AlertFacts(rule="r", entity="e")
    assert not matches_all(parse_words(["severity<=FATAL"]), plain)
    assert matches_all(parse_words(["e*"]), AlertFacts(rule="echo", entity="x"))


@pytest.mark.parametrize(("words", "says"), [
    ([], "no matchers"), (["colour=red"], "unknown matcher field 'colour'"),
    (["entity<=db1"], "only severity compares"), (["severity>=LOUD"], "unknown severity"),
    (["entity="], "has no value"), (["x" * 300], "cannot read matcher"),
    (["entity=" + "x" * 300], "longer than 256"), (["tags.=x"], "unknown matcher field"),
    (["severity!=MAJOR"], "unknown matcher field 'severity'"), (["a b"], "cannot read"),
    (["rule=x"] * 17, "too many matchers"),
])
def test_bad_matchers_say_what_is_wrong(words: list[str], says: str) -> None:
    with pytest.raises(MatcherError) as caught:
        parse_words(words)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_json_form() -> None:
    found = parse_mapping({"entity": "db1", "severity": ">=MAJOR", "tags": {"mount": "/var"},
                           "tags.host": "db*", "rule": "disk-full"})
    assert describe(found) == ("entity=db1 severity>=MAJOR tags.mount=/var tags.host=db* "
                               "rule=disk-full")
    assert to_mapping(found)["severity"] == ">=MAJOR"
    for bad, says in ((["entity=db1"], "expected an object"), ({}, "no matchers"),
                      ({"entity": 5.5}, "expected a text value"),
                      ({"colour": "red"}, "unknown matcher field")):
        with pytest.raises(MatcherError, match=says):
            parse_mapping(bad)


def test_two_bounds_on_one_field_survive_the_store() -> None:
    both = parse_words(["severity>=MINOR", "severity<=CRITICAL"])
    assert parse_mapping(to_mapping(both)) == both


def test_facts_of_an_engine_record() -> None:
    facts = facts_of({"rule": "r", "entity": "e", "severity": "MAJOR", "tags": {"k": 1}})
    assert facts == AlertFacts("r", "e", Severity.MAJOR, {"k": "1"})
    assert facts_of({"rule": "r", "entity": "e", "severity": "??"}).severity is None


names = st.text(st.characters(categories=["Ll", "Lu", "Nd"], include_characters="-_.:/"),
                min_size=1, max_size=20)
patterns = st.text(st.characters(categories=["Ll", "Nd"], include_characters="*?-."),
                   min_size=1, max_size=20)
matchers = st.one_of(
    st.builds(Matcher, st.sampled_from(["rule", "entity"]), st.just("="), patterns),
    st.builds(Matcher, st.just("severity"), st.sampled_from(["=", "<=", ">="]),
              st.sampled_from([s.name for s in Severity])),
    st.builds(lambda n, v: Matcher(f"tags.{n.lower()}", "=", v), names, patterns),
)


@fuzz(300)
@given(st.lists(matchers, min_size=1, max_size=6))
def test_chat_and_json_forms_read_back(found: list[Matcher]) -> None:
    assert parse_words(describe(found).split()) == found
    assert parse_mapping(to_mapping(found)) == found


@fuzz(300)
@given(st.lists(matchers, min_size=1, max_size=4), names, names)
def test_matching_is_an_and(found: list[Matcher], rule: str, entity: str) -> None:
    alert = AlertFacts(rule=rule, entity=entity, severity=Severity.WARNING, tags={})
    assert matches_all(found, alert) == all(m.matches(alert) for m in found)


@fuzz(500)
@given(st.lists(st.text(max_size=30), max_size=5))
def test_any_words_are_matchers_or_one_clear_error(words: list[str]) -> None:
    try:
        found = parse_words(w for w in words if w.strip())
    except MatcherError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert 1 <= len(found) <= 16
