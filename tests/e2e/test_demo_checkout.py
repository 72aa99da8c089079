"""``atsd-bot demo`` runs only in a checkout: elsewhere it says so in one line and exits 2."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.demo import run as demo_run
from bot.demo import setup as demo_setup
from bot.errors import DemoError


def test_the_checkout_is_found_here() -> None:
    assert (demo_setup.require_checkout() / "tests" / "rocketchat_server").is_dir()


def test_a_tree_without_the_simulator_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DemoError, match="needs a checkout of atsd-bot"):
        demo_setup.require_checkout(tmp_path)


def test_demo_run_outside_a_checkout_exits_2_with_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(demo_setup, "ROOT", tmp_path)
    monkeypatch.setattr(demo_setup.require_checkout, "__defaults__", (tmp_path,))
    args = argparse.Namespace(dir=str(tmp_path / "demo"), once=True, timeout=1.0)
    assert demo_run.run_command(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "clone the repository and run 'make run'" in err[0]
    assert not (tmp_path / "demo").exists()
