"""``atsd-bot`` as a user runs it: a subprocess of this checkout's code, in a folder of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, build_settings
from bot.service.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
# the caller's ATSD_BOT_* variables would leak into what is tested
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("ATSD_BOT_")}

Run = Callable[..., subprocess.CompletedProcess[str]]


def atsd_bot(*args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd,
                          env={**CLEAN_ENV, "PYTHONPATH": str(ROOT), **(env or {})},
                          input=stdin, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """``run(*args, env=..., stdin=...)`` in an empty working folder under ``tmp_path``."""
    work = tmp_path / "work"
    work.mkdir()

    def runner(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return atsd_bot(*args, cwd=work, **kwargs)  # type: ignore[arg-type]

    return runner


def runtime_settings(tmp_path: Path, db: str = "atsd.db", **sections: Any) -> Settings:
    """Settings for a :class:`Runtime` in this process: an ephemeral port, SQLite under
    ``tmp_path``, one admin user (boss), ``sections`` on top."""
    raw = {"http": {"port": 0, "threads": 2},
           "database": {"url": f"sqlite:///{tmp_path / db}"},
           "users": [{"name": "boss", "password": "boss-pass-1", "roles": ["admin"]}],
           "rules": {"paths": [str(tmp_path)]}, **sections}
    return build_settings(raw, base_dir=tmp_path)


@pytest.fixture
def runtimes() -> Iterator[list[Runtime]]:
    """The runtimes a test appends here are stopped after it."""
    started: list[Runtime] = []
    yield started
    for runtime in started:
        runtime.stop(drain_seconds=0)
