"""The webhook endpoint and the data API under hostile bodies, at volume.

tests/webhook/test_fuzz.py already sends random bytes, JSON, queries and Rocket.Chat payload
variants; this adds the shapes built to hurt: nesting thousands deep (in the body, in a
``json.parse`` field, in the data API), huge tag counts (keys in the body and in the query),
long values, and pathological ``*`` filters in queries. Zero 5xx, an error text on every
4xx, and a CPU and memory budget per request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.store import Database
from tests.fuzz.budget import bounded, fuzz
from tests.webhook.conftest import API, Harness, _close, make_harness, rc_payload


@pytest.fixture(scope="module")
def hx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'atsd.db'}")
    db.create_schema()
    harness = make_harness(db)
    yield harness
    _close(harness)
    db.dispose()


def check(response: Any) -> None:
    assert response.status_code < 500, response.get_data()[:300]
    body = response.get_json()
    assert isinstance(body, (dict, list))  # the query API answers with an array
    if response.status_code >= 400:
        assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]


def nested(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "1" + "]" * depth
    if kind == "dict":
        return '{"a":' * depth + "1" + "}" * depth
    return '[{"a":' * (depth // 2) + "1" + "}]" * (depth // 2)


kinds = st.sampled_from(["list", "dict", "mixed"])
paths = st.sampled_from(["/api/v1/messages/webhook/deep",
                         "/api/v1/messages/webhook/rocket.chat",
                         "/api/v1/messages/webhook/deep?json.parse=payload"])


@fuzz(150)
@given(st.integers(1, 12_000), kinds, paths)
def test_deep_json_bodies(hx: Harness, depth: int, kind: str, path: str) -> None:
    text = nested(depth, kind)
    if "json.parse" in path:
        text = json.dumps({"payload": text})
    with bounded(cpu_seconds=2.0, megabytes=64):
        response = hx.post(path, data=text, content_type="application/json")
    check(response)


@fuzz(80)
@given(st.integers(1, 12_000), kinds, st.sampled_from(["insert", "query"]))
def test_deep_json_in_the_data_api(hx: Harness, depth: int, kind: str, api: str) -> None:
    with bounded(cpu_seconds=2.0, megabytes=64):
        response = hx.client.post(f"/api/v1/messages/{api}", data=nested(depth, kind),
                                  content_type="application/json", headers=API)
    check(response)


@fuzz(60)
@given(st.integers(1, 6_000), st.integers(0, 50), st.booleans())
def test_huge_tag_counts(hx: Harness, tags: int, size: int, in_query: bool) -> None:
    if in_query:
        query = "&".join(f"t{i}={'v' * size}" for i in range(min(tags, 1500)))
        with bounded(cpu_seconds=3.0, megabytes=128):
            response = hx.post(f"/api/v1/messages/webhook/tags?{query}", json={"m": 1})
    else:
        body = {f"tag{i}": "v" * size for i in range(tags)}
        with bounded(cpu_seconds=3.0, megabytes=128):
            response = hx.post("/api/v1/messages/webhook/tags", json=body)
    check(response)


@fuzz(60)
@given(st.integers(1, 60_000), st.text(max_size=50))
def test_long_rocket_chat_texts(hx: Harness, size: int, extra: str) -> None:
    payload = rc_payload()
    payload["message_id"] = f"long-{size}-{abs(hash(extra))}"
    payload["text"] = ("x" * size + extra)[:60_000]
    with bounded(cpu_seconds=2.0, megabytes=64):
        response = hx.post("/api/v1/messages/webhook/rocket.chat", json=payload)
    check(response)


wild = st.builds(lambda unit, n, end: "*" + "*".join([unit] * n) + end,
                 st.sampled_from(["a", "a?", "?"]), st.integers(1, 60),
                 st.sampled_from(["b", "", "*"]))


@pytest.fixture(scope="module")
def long_values(hx: Harness) -> None:
    for _ in range(20):
        check(hx.post("/api/v1/messages/webhook/" + "a" * 500,
                      json={"message": "a" * 5000, "k": "a" * 5000}))


@fuzz(30)
@given(wild, st.sampled_from(["entity", "type", "source", "tags"]))
def test_pathological_filters_in_the_query_api(hx: Harness, long_values: None, pattern: str,
                                               field: str) -> None:
    query = {"entity": "*", "startDate": "1970-01-01T00:00:00Z", "endDate": "now",
             field: {"k": pattern} if field == "tags" else pattern}
    with bounded(cpu_seconds=3.0, megabytes=128):
        response = hx.client.post("/api/v1/messages/query", json=[query], headers=API)
    check(response)


@fuzz(60)
@given(st.text(min_size=1, max_size=200))
def test_arbitrary_paths(hx: Harness, path: str) -> None:
    with bounded():
        response = hx.post("/api/v1/messages/webhook/" + quote(path, safe="/"), json={"a": 1})
    if response.status_code == 308:
        # werkzeug merges repeated slashes with a redirect that keeps method and body
        assert "//" in "/api/v1/messages/webhook/" + path
        assert "//" not in response.headers["Location"].split("://", 1)[1]
        return
    check(response)
