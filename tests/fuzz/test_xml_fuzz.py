"""The ATSD XML importer under hostile and mangled documents: issues, never exceptions.

Entity expansion (billion laughs, quadratic blow-up), external entities, deep element nesting,
huge attribute and element counts, and random mutations of a valid export: each answers with
rules and issues (``parse_xml``/``load_bytes``) inside a CPU and memory budget.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rules.definitions.atsd_xml import export_xml, parse_xml
from rules.definitions.loader import load_bytes
from tests.fuzz.budget import bounded, fuzz

VALID = """<rules><rule><name>r1</name><enabled>true</enabled><metric>message</metric>
<expression>message != 'resolved'</expression><window>length(1)</window>
<tagsGroupingStrategy>DEFINED_TAGS</tagsGroupingStrategy><tags>channel_id</tags>
<webNotification><first-enabled>true</first-enabled><firstWebConfigParameters><key>message
</key><value>open ${tags.channel_id}</value></firstWebConfigParameters></webNotification>
</rule></rules>"""


def laughs(levels: int, fan: int) -> str:
    entities = ['<!ENTITY l0 "lol">'] + [
        f'<!ENTITY l{i} "{"".join(f"&l{i - 1};" for _ in range(fan))}">'
        for i in range(1, levels)]
    return (f'<?xml version="1.0"?><!DOCTYPE rules [{"".join(entities)}]>'
            f"<rules><rule><name>&l{levels - 1};</name></rule></rules>")


def only_issues(data: str | bytes) -> None:
    with bounded(cpu_seconds=2.0, megabytes=64):
        rules, issues = parse_xml(data, "fuzz.xml", endpoints={"log", "rocketchat"})
    assert rules == [] and issues and all(i.message for i in issues)


@fuzz(50)
@given(st.integers(2, 12), st.integers(2, 12))
def test_entity_expansion_is_refused(levels: int, fan: int) -> None:
    only_issues(laughs(levels, fan))


@fuzz(20)
@given(st.integers(1_000, 50_000))
def test_quadratic_blowup_is_refused(size: int) -> None:
    big = "x" * size
    only_issues(f'<!DOCTYPE r [<!ENTITY a "{big}">]><rules><rule><name>'
                + "&a;" * 2000 + "</name></rule></rules>")


@fuzz(10)
@given(st.sampled_from(["file:///etc/passwd", "http://127.0.0.1:1/x", "/dev/zero"]))
def test_external_entities_are_refused(uri: str) -> None:
    only_issues(f'<!DOCTYPE r [<!ENTITY e SYSTEM "{uri}">]><rules><rule><name>&e;</name>'
                "</rule></rules>")


@fuzz(20)
@given(st.integers(100, 100_000), st.sampled_from(["rule", "name", "x", "webNotification"]))
def test_deep_nesting_is_an_issue_or_ignored(depth: int, tag: str) -> None:
    text = "<rules><rule><name>d</name>" + f"<{tag}>" * depth + f"</{tag}>" * depth
    with bounded(cpu_seconds=3.0, megabytes=128):
        rules, issues = parse_xml(text + "</rule></rules>", "deep.xml", endpoints={"log"})
    assert len(rules) <= 1


@fuzz(20)
@given(st.integers(1, 20_000))
def test_many_rules_and_attributes(count: int) -> None:
    attributes = " ".join(f'a{i}="v"' for i in range(min(count, 5000)))
    text = f"<rules {attributes}>" + "<rule><name>n</name></rule>" * min(count, 2000) + "</rules>"
    with bounded(cpu_seconds=5.0, megabytes=128):
        rules, issues = load_bytes(text, "many.xml", fmt="xml", endpoints={"log"})
    assert len({r.name for r in rules}) == len(rules)  # duplicate names are issues


@fuzz(400)
@given(st.data())
def test_mutated_exports_never_raise(data: st.DataObject) -> None:
    base = VALID.encode()
    cut = data.draw(st.integers(0, len(base)))
    junk = data.draw(st.binary(max_size=20))
    keep = data.draw(st.integers(0, len(base)))
    mutated = base[:cut] + junk + base[keep:]
    with bounded():
        load_bytes(mutated, "mutated.xml", fmt="xml", endpoints={"log", "rocketchat"})


def test_a_valid_export_round_trips() -> None:
    """The mutation base is a real rule (so mutations explore near-valid documents)."""
    rules, issues = parse_xml(VALID, "valid.xml", endpoints={"log", "rocketchat"})
    assert [r.name for r in rules] == ["r1"], issues
    again, _ = parse_xml(export_xml(rules), "again.xml", endpoints={"log", "rocketchat"})
    assert [r.name for r in again] == ["r1"]
