"""Whatever a rule file holds, loading it answers with rules and issues, never an exception."""

from __future__ import annotations

import os

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.definitions.loader import load_bytes
from rules.definitions.yaml_format import RULE_KEYS

EXAMPLES = 400 if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else 40
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=30), st.sampled_from([
                        "length(3)", "time(5 minute)", "all", "none", "WARNING", "30 second",
                        "tags.x = 'y'", "${message}", "log", "rocketchat", "@if{true}x@end{}"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(
        ["endpoint", "open", "repeat", "cancel", "text", "enabled", "events", "minutes",
         "repeat_every", "delay_open", "room", "x"]), inner, max_size=4)), max_leaves=12)
rules = st.dictionaries(st.sampled_from([*RULE_KEYS, "bogus"]), values, max_size=8)


@FUZZ
@given(st.lists(rules, max_size=3))
def test_any_rule_structure(entries: list[dict[str, object]]) -> None:
    text = yaml.safe_dump({"rules": entries})
    found, issues = load_bytes(text, "fuzz.yml", fmt="yaml", endpoints={"log"})
    assert all(isinstance(str(i), str) for i in issues)
    assert len({r.name for r in found}) == len(found)


@FUZZ
@given(st.text(max_size=300))
def test_any_yaml_text(text: str) -> None:
    load_bytes(text, "fuzz.yml", fmt="yaml", endpoints={"log"})


xml_parts = st.lists(st.sampled_from([
    "<rules>", "</rules>", "<rule>", "</rule>", "<name>r</name>", "<window>length(2)</window>",
    "<window>time(x)</window>", "<severity>MAJOR</severity>", "<enabled>true</enabled>",
    "<webNotification>", "</webNotification>", "<repeat-interval><type>COUNT</type>"
    "<intervalCount>0</intervalCount></repeat-interval>", "<firstWebConfigParameters><key>"
    "message</key><value>${entity}</value></firstWebConfigParameters>", "<first-enabled>true"
    "</first-enabled>", "<tagsGroupingStrategy>DEFINED_TAGS</tagsGroupingStrategy>",
    "<timeFilter><intervalCount>2</intervalCount><intervalUnit>HOUR</intervalUnit></timeFilter>",
    "<expression>count() &gt; 1</expression>", "&amp;", "<![CDATA[a < b]]>", "x", "<"]),
    max_size=20)


@FUZZ
@given(xml_parts)
def test_any_xml(parts: list[str]) -> None:
    load_bytes("".join(parts), "fuzz.xml", fmt="xml", endpoints={"log"})


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes(data: bytes) -> None:
    load_bytes(data, "fuzz.xml", fmt="xml")
    load_bytes(data, "fuzz.yml", fmt="yaml")
