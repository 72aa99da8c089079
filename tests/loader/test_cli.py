"""``atsd-bot rules ...`` run in-process through ``bot.__main__.main``."""

from __future__ import annotations

import json
import os
import shutil
import signal
from datetime import timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from rules.command import MessageCommand, utcnow
from rules.definitions.atsd_xml import parse_xml
from rules.store import Database
from rules.store.messages import insert_message

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "atsd-rules"
SEED = Path(__file__).resolve().parents[2] / "rules.d" / "seed.yml"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "rules.d").mkdir()
    shutil.copy(SEED, tmp_path / "rules.d" / "seed.yml")
    path = tmp_path / "atsd-bot.toml"
    path.write_text(f"""
[database]
url = "sqlite:///{tmp_path / 'atsd.db'}"

[rules]
paths = ["rules.d"]

[rocketchat]
url = "http://127.0.0.1:3000"
user = "atsd_bot"
password = "bot-pass"
""")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["rules", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_configured_rules(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", "--config", str(config))
    assert code == 0 and "1 rules valid, 0 errors, 0 warnings" in out and err == ""


def test_validate_reports_errors_and_exits_1(tmp_path: Path, config: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("rules:\n  - name: b\n    window: time(5 parsec)\n"
                   "  - name: c\n    notifications: [{endpoint: pager, open: hi}]\n")
    code, out, err = run(capsys, "validate", str(bad), "--config", str(config))
    assert code == 1 and "0 rules valid, 2 errors" in out
    assert f"{bad}: rule 'b': window: unknown unit 'parsec'" in err
    assert "rule 'c': notifications[0].endpoint: unknown endpoint 'pager'" in err


def test_validate_without_configuration_skips_endpoints(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATSD_BOT_CONFIG", raising=False)
    code, out, _ = run(capsys, "validate", str(SEED))
    assert code == 0 and "endpoint names not checked" in out


def test_export_writes_atsd_xml(tmp_path: Path, config: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "export", "--config", str(config))
    assert code == 0 and out.startswith('<?xml version="1.0" encoding="UTF-8"?><rules>')
    (rule,), issues = parse_xml(out, "out.xml")
    assert rule.name == "rocketchat_reply" and issues == []
    target = tmp_path / "out.xml"
    code, out, err = run(capsys, "export", "-o", str(target), str(FIXTURES))
    assert code == 0 and "3 rules written" in err
    assert len(parse_xml(target.read_bytes(), "x")[0]) == 3


def test_import_the_seed_xml(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = FIXTURES / "rules_outgoing_webhook.xml"
    code, out, _ = run(capsys, "import", str(source), "--config", str(config))
    assert code == 0 and "imported 1 rules (outgoing_webhook)" in out
    assert "SIGHUP" in out
    written = config.parent / "rules.d" / "rules_outgoing_webhook.xml"
    assert written.read_bytes() == source.read_bytes()
    code, out, _ = run(capsys, "import", str(source), "--config", str(config))
    assert code == 1 and "not imported" in out


def test_import_signals_the_running_service(config: Path, capsys: pytest.CaptureFixture[str]
                                            ) -> None:
    got: list[int] = []
    previous = signal.signal(signal.SIGHUP, lambda signum, _frame: got.append(signum))
    try:
        code, out, _ = run(capsys, "import", str(FIXTURES / "custom-github-rule.xml"),
                           "--config", str(config), "--pid", str(os.getpid()))
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert code == 0 and f"sent SIGHUP to {os.getpid()}" in out
    assert got == [signal.SIGHUP]  # delivered to this (main) thread before kill() returned


def test_import_refuses_an_unknown_endpoint(config: Path,
                                            capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    text = (FIXTURES / "rules.xml").read_text().replace(
        "<enabled>true</enabled>", "<enabled>true</enabled>").replace(
        "jvm_memory_used_percent", "message").replace("avg() > 10 || max() > 85", "true")
    path = tmp_path / "telegram.xml"
    path.write_text(text)
    code, out, err = run(capsys, "import", str(path), "--config", str(config))
    assert code == 1 and "unknown endpoint 'Telegram'" in err
    assert not (config.parent / "rules.d" / "telegram.xml").exists()


def test_import_of_missing_file_is_usage_error(config: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "import", "/nonexistent/r.yml", "--config", str(config))
    assert code == 2 and "cannot read /nonexistent/r.yml" in err


def test_bad_configuration_is_one_line(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate", "--config", str(tmp_path / "none.toml"))
    assert code == 2 and err.count("\n") == 1 and "not found" in err and "Traceback" not in err


def test_dry_run_with_commands(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hello = {"entity": "rocket.chat", "source": "rocket.chat", "message": "hi",
             "tags": {"user_name": "bob", "channel_id": "R1"}}
    bot = {**hello, "tags": {"bot": "true"}}
    code, out, _ = run(capsys, "test", str(SEED), "--config", str(config),
                       "--command", json.dumps([hello, bot]), "--command", json.dumps(hello))
    assert code == 0
    assert "== rule rocketchat_reply (3 commands)" in out
    assert 'User /@bob said "hi"' in out
    assert "filtered out" in out  # the bot's own message
    code, out, _ = run(capsys, "test", str(SEED), "--config", str(config), "--json",
                       "--command", json.dumps(hello))
    (report,) = json.loads(out)
    (step,) = report["steps"]
    assert step["after"] == "OPEN" and step["notifications"][0]["text"] == 'User /@bob said "hi"'


def test_dry_run_without_configuration(capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ATSD_BOT_CONFIG", raising=False)
    code, out, _ = run(capsys, "test", str(SEED), "--command",
                       '{"entity": "rocket.chat", "source": "rocket.chat", "message": "yo"}')
    assert code == 0 and 'open -> rocketchat' in out and 'said "yo"' in out


def test_dry_run_replays_stored_messages(config: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    db = Database(f"sqlite:///{config.parent / 'atsd.db'}")
    db.create_schema()
    now = utcnow()
    with db.begin() as conn:
        for minutes, text in ((120, "old"), (20, "first"), (10, "second")):
            command = MessageCommand(entity="rocket.chat", source="rocket.chat", message=text,
                                     date=now - timedelta(minutes=minutes),
                                     tags={"user_name": "eve", "channel_id": "R"})
            insert_message(conn, command, path="webhook", received_at=now)
    db.dispose()
    code, out, _ = run(capsys, "test", str(SEED), "--config", str(config), "--replay", "1h")
    assert code == 0 and "(2 commands)" in out
    assert 'said "first"' in out and 'said "second"' in out and '"old"' not in out


@pytest.mark.parametrize(("args", "words"), [
    (["--command", "{nope"], "not valid JSON"),
    (["--command", '{"message": "x"}'], "'entity' is required"),
    (["--command", '{"entity": "e", "severity": "LOUD"}'], "unknown severity"),
    (["--command", "[1]"], "expected a JSON object"),
    (["--replay", "yesterday"], "--replay"),
])
def test_dry_run_bad_input(config: Path, capsys: pytest.CaptureFixture[str],
                           args: list[str], words: str) -> None:
    code, _, err = run(capsys, "test", str(SEED), "--config", str(config), *args)
    assert code == 2 and words in err


def test_dry_run_unknown_rule(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "test", str(SEED), "--rule", "nope", "--config", str(config),
                       "--command", '{"entity": "e"}')
    assert code == 1 and "no rule 'nope'" in err
