"""Issue 3 through the process: state survives a restart; ``rules import --pid`` reloads;
``rules test`` dry-runs; the shipped XML files import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.acceptance.conftest import ROOT, Served, start_serve, wait_for

ALL = {"startDate": "2000-01-01T00:00:00Z", "endDate": "now"}


def stop(served: Served) -> None:
    served.proc.terminate()
    code = served.proc.wait(timeout=20)
    assert code == 0, f"serve exited {code}:\n{served.log.read_text()[-4000:]}"


def texts(served: Served, rule: str) -> list[str]:
    rows = served.api_get("/api/v1/notifications?limit=200")
    return [f'{r["trigger"]}:{r["text"]}' for r in reversed(rows) if r["rule"] == rule]


def test_open_alert_survives_restart_without_resending(tmp_path: Path) -> None:
    first = start_serve(tmp_path)
    ins = first.api("/api/v1/messages/insert",
                    [{"entity": "rs-1", "source": "acc-src", "message": "one"}])
    assert ins.status_code == 200
    [alert] = first.api("/api/v1/alerts/query", [{"entity": "rs-1", **ALL}]).json()
    stop(first)
    second = start_serve(tmp_path)
    try:
        [again] = second.api("/api/v1/alerts/query", [{"entity": "rs-1", **ALL}]).json()
        assert again["id"] == alert["id"] and again["openDate"] == alert["openDate"]
        second.api("/api/v1/messages/insert",
                   [{"entity": "rs-1", "source": "acc-src", "message": "two"}])
        assert texts(second, "acc_open") == ["open:open rs-1 one", "repeat:repeat two"]
    finally:
        stop(second)


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ})


def test_rules_import_with_pid_reloads(tmp_path: Path) -> None:
    served = start_serve(tmp_path)
    try:
        new = tmp_path / "extra.yml"
        new.write_text("rules:\n  - name: imported_one\n    source: imp\n    window: length(1)\n")
        done = run("rules", "import", str(new), "--config", str(tmp_path / "atsd.toml"),
                   "--pid", str(served.proc.pid))
        assert done.returncode == 0, done.stdout + done.stderr
        wait_for(lambda: "imported_one" in {r["name"] for r in served.api_get("/api/v1/rules")})
        bad = tmp_path / "bad.yml"
        bad.write_text("rules:\n  - name: broken\n    window: length(0)\n")
        refused = run("rules", "import", str(bad), "--config", str(tmp_path / "atsd.toml"))
        assert refused.returncode == 1 and "length" in refused.stdout + refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        stop(served)


def test_rules_test_dry_run(tmp_path: Path) -> None:
    rule = tmp_path / "r.yml"
    rule.write_text("rules:\n  - name: dr\n    source: rocket.chat\n    window: length(1)\n"
                    "    notifications:\n      - endpoint: log\n"
                    "        open: 'hi ${tags.user_name}: ${message}'\n")
    done = run("rules", "test", str(rule), "--command",
               '{"entity": "rocket.chat", "source": "rocket.chat", "message": "hi",'
               ' "tags": {"user_name": "bob"}}')
    assert done.returncode == 0, done.stdout + done.stderr
    assert "CANCEL -> OPEN" in done.stdout and "hi bob: hi" in done.stdout
    other = run("rules", "test", str(rule), "--command",
                '{"entity": "x", "source": "other", "message": "hi"}')
    assert other.returncode == 0 and "OPEN" not in other.stdout
    bad = run("rules", "test", str(rule), "--command", "{not json")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


@pytest.mark.parametrize("name", ["rules_outgoing_webhook.xml", "rules.xml",
                                  "custom-github-rule.xml"])
def test_shipped_atsd_xml_validates(name: str) -> None:
    done = run("rules", "validate", str(ROOT / "tests" / "fixtures" / "atsd-rules" / name))
    assert done.returncode == 0, done.stdout + done.stderr


def test_reload_keeps_windows_when_only_notifications_change(tmp_path: Path) -> None:
    import signal

    from tests.acceptance.conftest import RULES

    served = start_serve(tmp_path)
    rules_file = tmp_path / "rules.d" / "acc.yml"
    try:
        served.api("/api/v1/messages/insert",
                   [{"entity": "rl-1", "source": "acc-src", "message": "one"}])
        rules_file.write_text(RULES.replace("'repeat ${message}'", "'again ${message}'"))
        served.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "again" in str(served.api_get("/api/v1/rules")))
        served.api("/api/v1/messages/insert",
                   [{"entity": "rl-1", "source": "acc-src", "message": "two"}])
        assert texts(served, "acc_open") == ["open:open rl-1 one", "repeat:again two"]
        # a changed condition drops the windows, without a cancel notification
        rules_file.write_text(RULES.replace("message != 'stop'", "message != 'halt'")
                              .replace("'repeat ${message}'", "'again ${message}'"))
        served.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "halt" in str(served.api_get("/api/v1/rules")))
        assert served.api("/api/v1/alerts/query", [{"entity": "rl-1", **ALL}]).json() == []
        assert texts(served, "acc_open") == ["open:open rl-1 one", "repeat:again two"]
        served.api("/api/v1/messages/insert",
                   [{"entity": "rl-1", "source": "acc-src", "message": "three"}])
        assert texts(served, "acc_open")[-1] == "open:open rl-1 three"
    finally:
        stop(served)
