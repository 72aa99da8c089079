"""``atsd-bot prune``: says what it removed, leaves open alerts alone, creates nothing."""

from __future__ import annotations

from pathlib import Path

from rules.store import Database
from tests.engine.helpers import make_rig, rule
from tests.operations.conftest import Run
from tests.service.test_retention import _old_history


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "atsd-bot.toml"
    path.write_text('[database]\nurl = "sqlite:///atsd.db"\n[retention]\nalerts = "forever"\n')
    return path


def test_prune_reports_each_kind_and_keeps_open_alerts(run: Run, tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'atsd.db'}")
    db.create_schema()
    rig = make_rig(db, [rule("r1")])
    rig.send("bad")  # an open alert, dated 2026-03-01 by the rig's clock
    _old_history(db)
    db.dispose()
    config = _config(tmp_path)
    dry = run("prune", "--config", str(config), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[0].startswith("messages: would remove 1 older than ")
    assert "alerts: kept (retention forever)" in lines
    assert any(line.startswith("webhook requests: would remove 1 ") for line in lines)
    done = run("prune", "--config", str(config))
    assert done.stdout.splitlines()[0].startswith("messages: removed 1 ")
    again = run("prune", "--config", str(config), "--older-than", "1d")
    assert again.returncode == 0
    assert all(" 0 older than " in line for line in again.stdout.splitlines())
    reopened = Database(f"sqlite:///{tmp_path / 'atsd.db'}")
    assert [a["rule"] for a in make_rig(reopened, [rule("r1")]).engine.open_alerts()] == ["r1"]


def test_prune_without_a_database_creates_none(run: Run, tmp_path: Path) -> None:
    done = run("prune", "--config", str(_config(tmp_path)))
    assert done.returncode == 0 and "nothing to prune" in done.stdout
    assert not (tmp_path / "atsd.db").exists()
    bad = run("prune", "--config", str(_config(tmp_path)), "--older-than", "soon")
    assert bad.returncode == 2 and bad.stderr.startswith("atsd-bot: --older-than: ")


def test_a_bare_number_is_refused_on_the_command_line_and_in_the_config(
        run: Run, tmp_path: Path) -> None:
    """Spec: one duration syntax, a bare number refused with it (no silent seconds)."""
    syntax = "has no unit: write 90s, 15m, 2h, 1h30m, 2d, 1w or '30 minute'"
    bare = run("prune", "--config", str(_config(tmp_path)), "--older-than", "3600")
    assert bare.returncode == 2
    assert bare.stderr == f"atsd-bot: --older-than: a bare number ('3600') {syntax}\n"
    config = tmp_path / "bare.toml"
    config.write_text('[database]\nurl = "sqlite:///atsd.db"\n[retention]\nmessages = 7200\n')
    refused = run("prune", "--config", str(config))
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert f"retention.messages: a bare number (7200) {syntax}" in refused.stderr
    assert not (tmp_path / "atsd.db").exists()
