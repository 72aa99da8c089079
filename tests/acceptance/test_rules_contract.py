"""spec/rules.md through public surfaces: rule files, the webhook, the data and rules APIs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.acceptance.conftest import API, HOOK, ROOT, Served, start_serve, wait_for

W = "/api/v1/messages/webhook"
ALL = {"startDate": "2000-01-01T00:00:00Z", "endDate": "2100-01-01T00:00:00Z"}

RULES = """
rules:
  - name: r_funcs
    source: funcs
    window: length(5)
    condition: >-
      upper('a') = 'A' AND lower('B') = 'b' AND trim(' x ') = 'x' AND length('abc') = 3
      AND contains(message, 'disk') AND startsWith(message, 'disk') AND endsWith(message, 'full')
      AND replace(message, 'disk', 'd') = 'd full' AND matches(message, '^d.*l$')
      AND ifEmpty(tags.none, 'z') = 'z' AND truncate('abcdef', 3) = 'abc'
      AND count() >= 1 AND elapsed_minutes(now) < 1 AND NOT rule_open('nope')
      AND tags.host IN ('h1', 'h2') AND message LIKE 'disk*' AND tags['odd-name'] = 'v'
      AND (1 + 2 * 3 = 7) && ('a' + 'b' = 'ab') || false
    notifications:
      - endpoint: log
        open: "${concat('x', '-', 'y')}|${date_format(0, 'yyyy-MM-dd', 'UTC')}|\\
          ${coalesce(['', 'c'])}|${tags.missing}|${severity}|${count() > 0 ? 'yes' : 'no'}|\\
          ${db_message_count('1 hour', 'webhook', 'funcs')}"
  - name: r_every2
    source: every2
    window: length(1)
    notifications:
      - endpoint: log
        open: 'open'
        repeat: 'repeat ${repeat_count}'
        repeat_every: {events: 2}
  - name: r_delay
    source: delay
    window: length(1)
    condition: "message != 'stop'"
    notifications:
      - endpoint: log
        open: 'delayed open'
        cancel: 'delayed cancel'
        delay_open: 1h
  - name: r_time
    source: timewin
    window: time(1 second)
    check_on_exit: true
    condition: "count() > 0"
    notifications:
      - endpoint: log
        open: 'time open'
        cancel: 'time cancel ${count()}'
  - name: r_offset
    source: offset
    window: length(1)
    time_offset: 1m
    notifications:
      - endpoint: log
        open: 'offset open ${message}'
  - name: r_group
    source: grp
    window: length(1)
    group_by_tags: [host]
    notifications:
      - endpoint: log
        open: 'grp ${tags.host}'
  - name: r_sev
    source: sev
    window: length(1)
    severity: unknown
    notifications:
      - endpoint: log
        open: 'sev ${severity}'
  - name: r_err
    source: err
    window: length(1)
    notifications:
      - endpoint: log
        open: 'err ${10 / (count() - 1)} done'
"""


@pytest.fixture(scope="module")
def rserved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = start_serve(tmp_path_factory.mktemp("rules"), rules=RULES)
    yield s
    s.proc.terminate()
    s.proc.wait(timeout=15)


def notifications(served: Served, rule: str) -> list[dict[str, Any]]:
    rows = served.api_get("/api/v1/notifications?limit=500")
    return [r for r in reversed(rows) if r["rule"] == rule]


def post(served: Served, source: str, message: str = "m", **query: str) -> None:
    params = {"source": source, "message": message, **query}
    r = requests.post(served.url(f"{W}/{source}-ent"), params=params, json={}, auth=HOOK,
                      timeout=10)
    assert r.status_code == 200, r.text


def test_all_rules_load(rserved: Served) -> None:
    errors = rserved.api_get("/api/v1/rules/errors")
    assert errors["load"]["issues"] == [], errors
    names = {r["name"] for r in rserved.api_get("/api/v1/rules")}
    assert {"r_funcs", "r_every2", "r_delay", "r_time", "r_offset", "r_group", "r_sev",
            "r_err"} <= names


def test_functions_and_placeholders(rserved: Served) -> None:
    r = requests.post(rserved.url(f"{W}/funcs-ent?source=funcs&message=disk%20full&host=h1"
                                  "&odd-name=v"), json={}, auth=HOOK, timeout=10)
    assert r.status_code == 200
    [n] = notifications(rserved, "r_funcs")
    assert n["trigger"] == "open"
    assert n["text"] == "x-y|1970-01-01|c||WARNING|yes|1", n["text"]  # default severity


def test_status_table_and_repeat_every(rserved: Served) -> None:
    for i in range(5):
        post(rserved, "every2", f"m{i}")
    texts = [n["text"] for n in notifications(rserved, "r_every2")]
    # open, then repeats 1..4 of which every 2nd event is sent
    assert texts[0] == "open"
    assert texts[1:] == ["repeat 2", "repeat 4"], texts


def test_delay_open_then_cancel_sends_nothing(rserved: Served) -> None:
    post(rserved, "delay", "go")
    post(rserved, "delay", "stop")
    hist = rserved.api("/api/v1/alerts/history/query", [{"entity": "delay-ent", **ALL}]).json()
    assert len(hist) == 1
    rows = notifications(rserved, "r_delay")
    assert all(r["status"] != "delivered" and r["delivered"] is None for r in rows), rows
    assert all(r["trigger"] != "cancel" for r in rows), rows


def test_time_window_check_on_exit_cancels(rserved: Served) -> None:
    post(rserved, "timewin", "t")
    wait_for(lambda: [n for n in notifications(rserved, "r_time") if n["trigger"] == "cancel"],
             15.0)
    texts = [n["text"] for n in notifications(rserved, "r_time")]
    assert texts == ["time open", "time cancel 0"]


def test_time_offset_discards_old(rserved: Served) -> None:
    post(rserved, "offset", "old", date="2020-01-01T00:00:00Z")
    post(rserved, "offset", "fresh")
    assert [n["text"] for n in notifications(rserved, "r_offset")] == ["offset open fresh"]


def test_group_by_tags(rserved: Served) -> None:
    post(rserved, "grp", host="a")
    post(rserved, "grp", host="b")
    post(rserved, "grp", host="a")
    assert sorted(n["text"] for n in notifications(rserved, "r_group")
                  if n["trigger"] == "open") == ["grp a", "grp b"]
    windows = rserved.api_get("/api/v1/rules/windows?rule=r_group")
    assert len(windows) == 2


def test_severity_unknown_inherits(rserved: Served) -> None:
    post(rserved, "sev", severity="MAJOR")
    assert [n["text"] for n in notifications(rserved, "r_sev")] == ["sev MAJOR"]
    [alert] = rserved.api("/api/v1/alerts/query", [{"entity": "sev-ent", **ALL}]).json()
    assert alert["severity"] == "MAJOR"


def test_failing_placeholder_left_and_recorded(rserved: Served) -> None:
    post(rserved, "err")
    [n] = notifications(rserved, "r_err")
    assert n["text"] == "err ${10 / (count() - 1)} done"
    runtime = rserved.api_get("/api/v1/rules/errors")["runtime"]
    mine = [e for e in runtime if e["rule"] == "r_err"]
    assert mine and mine[0]["expression"] and mine[0]["reason"] and mine[0]["command"]


def test_unknown_function_is_a_load_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("rules:\n  - name: bad\n    condition: \"nosuch(1)\"\n")
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "bot", "rules", "validate", str(bad)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "nosuch" in done.stdout + done.stderr


def test_seed_xml_validates_and_roundtrips(tmp_path: Path) -> None:
    import subprocess
    import sys
    xml = ROOT / "tests" / "fixtures" / "atsd-rules" / "rules_outgoing_webhook.xml"
    done = subprocess.run([sys.executable, "-m", "bot", "rules", "validate", str(xml)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    out = tmp_path / "out.xml"
    done = subprocess.run([sys.executable, "-m", "bot", "rules", "export", str(xml),
                           "--output", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and "<rules>" in out.read_text()


def test_rules_api_needs_role(rserved: Served) -> None:
    assert requests.get(rserved.url("/api/v1/rules"), timeout=5).status_code == 401
    assert requests.get(rserved.url("/api/v1/rules"), auth=API, timeout=5).status_code == 200
