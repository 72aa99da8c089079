"""Property tests: whatever a client sends, the answer is a 2xx or a 4xx with an error text.

Each property runs a few dozen examples in ``make test``; ``HYPOTHESIS_PROFILE=fuzz`` runs
thousands (``HYPOTHESIS_PROFILE=fuzz .venv/bin/python -m pytest tests/webhook/test_fuzz.py``).
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.webhook.conftest import Harness, rc_payload

DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
EXAMPLES = 2000 if DEEP else 40
pytestmark = pytest.mark.timeout(3600 if DEEP else 300)
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

RESERVED = ["type", "source", "entity", "date", "message", "severity", "datetimePattern",
            "command.type", "command.entity", "command.date", "command.message",
            "command.severity", "header.entity", "header.date", "header.tag.x", "exclude",
            "excludeValues", "include", "includeValues", "json.parse", "debug", "token",
            "command.bogus", "header.tag.", "a", "Full Name"]
CONTENT_TYPES = [None, "application/json", "application/x-www-form-urlencoded", "text/plain",
                 "application/json; charset=latin-1", "multipart/form-data", "text/xml",
                 "application/vnd.api+json", "application/json; charset=nope"]
PATHS = ["", "/x", "/rocket.chat", "/a/b.c", "/%00", "/%ff", "/" + "e" * 600]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)
query_values = st.one_of(st.text(max_size=30), st.sampled_from([
    "*", "?", "a*;*b", "text", "iso", "seconds", "milliseconds", "yyyy-MM-dd", "q'", "true",
    "2016-06-09T16:15:04.005Z", "7", "fatal", "%", "x.y[0]", "User-Agent"]))
queries = st.lists(st.tuples(st.sampled_from(RESERVED) | st.text(max_size=10), query_values),
                   max_size=8)


def encode(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def check(response: Any) -> None:
    assert response.status_code < 500, response.get_data()[:500]
    body = response.get_json()
    assert isinstance(body, dict) and body, response.get_data()[:200]
    if response.status_code >= 400:
        assert isinstance(body.get("error"), str) and body["error"]


@FUZZ
@given(path=st.sampled_from(PATHS), query=queries, body=st.binary(max_size=300),
       content_type=st.sampled_from(CONTENT_TYPES))
def test_arbitrary_bytes(hx: Harness, path: str, query: list[tuple[str, str]], body: bytes,
                         content_type: str | None) -> None:
    url = f"/api/v1/messages/webhook{path}?{encode(query)}"
    check(hx.post(url, data=body, content_type=content_type))


@FUZZ
@given(path=st.sampled_from(PATHS), query=queries, document=json_values)
def test_arbitrary_json(hx: Harness, path: str, query: list[tuple[str, str]],
                        document: Any) -> None:
    url = f"/api/v1/messages/webhook{path}?{encode(query)}"
    check(hx.post(url, data=json.dumps(document), content_type="application/json"))


@FUZZ
@given(raw_query=st.binary(max_size=120), headers=st.dictionaries(
    st.sampled_from(["X-Forwarded-For", "User-Agent", "Date", "X-Ev"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    max_size=3))
def test_arbitrary_query_bytes_and_headers(hx: Harness, raw_query: bytes,
                                           headers: dict[str, str]) -> None:
    environ = {"QUERY_STRING": raw_query.decode("latin-1")}
    check(hx.client.get("/api/v1/messages/webhook/x", environ_overrides=environ,
                        headers={**headers, **_auth()}))


@FUZZ
@given(changes=st.dictionaries(st.sampled_from(
    ["bot", "user_id", "user_name", "message_id", "isEdited", "token", "text"]), json_values,
    max_size=4))
def test_rocket_chat_payload_variants(hx: Harness, changes: dict[str, Any]) -> None:
    payload = {**rc_payload(), **changes}
    check(hx.post("/api/v1/messages/webhook/rocket.chat?command.message=text&exclude=text",
                  json=payload))


@FUZZ
@given(body=st.lists(st.dictionaries(st.sampled_from(
    ["entity", "type", "date", "severity", "tags", "message", "persist", "startDate",
     "endDate", "interval", "limit", "entities", "expression", "minSeverity"]), json_values,
    max_size=6), max_size=3))
def test_arbitrary_api_queries(hx: Harness, body: list[dict[str, Any]]) -> None:
    from tests.webhook.conftest import API

    for url in ("/api/v1/messages/insert", "/api/v1/messages/query"):
        response = hx.client.post(url, data=json.dumps(body), headers=API,
                                  content_type="application/json")
        assert response.status_code < 500, response.get_data()[:500]
        assert response.get_json() is not None


# -- the parameters that take a pattern, a format or a name: each fuzzed on its own --------
# A bad one is a 400 naming the parameter (issue: datetimePattern=yyyyyyyyyy was a 500).

JAVA_LETTERS = "yuMdHhmsSEXZazGQwWkKnVOxLBcFe"
java_patterns = st.lists(
    st.one_of(st.tuples(st.sampled_from(JAVA_LETTERS), st.integers(1, 10)).map(
        lambda run: run[0] * run[1]),
        st.sampled_from([" ", "-", ":", ".", "/", "T", "'T'", "'", "''", "%", "%Y", "+"])),
    max_size=8).map("".join)
date_texts = st.one_of(st.text(max_size=25), st.sampled_from([
    "2016-06-09 16:15:04", "09/06/2016 16:15 +0200", "1465488904", "2016", "Thu",
    "2016-06-09T16:15:04.005Z", "16:15", "PM", "UTC"]))
wildcards = st.text(alphabet="*?ab.[]\\%_;x ", max_size=12)
header_names = st.sampled_from(["X-Ev", "Date", "User-Agent", "x-ev", "", "X-Missing", "a b"])
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                        max_size=30)


def check_names(response: Any, *names: str) -> None:
    """Like :func:`check`, and a 400 names one of ``names`` (the parameter at fault)."""
    check(response)
    if response.status_code == 400:
        error = response.get_json()["error"]
        assert any(name.lower() in error.lower() for name in names), error


@FUZZ
@given(pattern=java_patterns | st.text(max_size=20), value=date_texts)
def test_datetime_patterns(hx: Harness, pattern: str, value: str) -> None:
    query = encode([("command.date", "d"), ("datetimePattern", pattern)])
    url = f"/api/v1/messages/webhook/x?{query}"
    check_names(hx.post(url, json={"d": value}), "datetimePattern", "command.date", "tag")


@FUZZ
@given(filters=st.lists(st.tuples(st.sampled_from(
    ["exclude", "include", "excludeValues", "includeValues"]), wildcards), min_size=1,
    max_size=4), document=json_values)
def test_include_exclude_wildcards(hx: Harness, filters: list[tuple[str, str]],
                                   document: Any) -> None:
    url = f"/api/v1/messages/webhook/x?{encode(filters)}"
    # a filter may leave too many tags or none; it never fails on its pattern
    check(hx.post(url, json={"doc": document, "a": "b"}))


@FUZZ
@given(names=st.lists(st.sampled_from(["doc", "a", "doc.x", "missing", "", " ;doc"])
                      | st.text(max_size=8), min_size=1, max_size=3),
       embedded=st.one_of(json_values.map(json.dumps), st.text(max_size=30),
                          st.integers(1, 200).map(lambda depth: "[" * depth + "]" * depth)))
def test_json_parse_fields(hx: Harness, names: list[str], embedded: str) -> None:
    url = f"/api/v1/messages/webhook/x?{encode([('json.parse', n) for n in names])}"
    check_names(hx.post(url, json={"doc": embedded, "a": "{}"}), "json.parse", "tag")


@FUZZ
@given(maps=st.lists(st.tuples(st.sampled_from(
    ["header.tag.ev", "header.tag.", "header.tag.A B", "header.entity", "header.date",
     "header.message", "header.severity", "header.type", "header.source"])
    | st.text(max_size=6).map(lambda name: "header.tag." + name), header_names),
    min_size=1, max_size=4),
    headers=st.dictionaries(st.sampled_from(["X-Ev", "Date", "User-Agent"]), header_values,
                            max_size=3))
def test_header_maps(hx: Harness, maps: list[tuple[str, str]], headers: dict[str, str]) -> None:
    url = f"/api/v1/messages/webhook/x?{encode(maps)}"
    check_names(hx.post(url, json={"a": "b"}, headers=headers), "header.", "entity")


def _auth() -> dict[str, str]:
    from tests.webhook.conftest import HOOK

    return HOOK
