"""The wheel built from this checkout, installed into a fresh virtual environment, once a session.

The wheel is built offline (``pip wheel --no-build-isolation`` with the project venv's
setuptools and wheel, both in the ``test`` extra) from a copy of the checkout, so the checkout
gets no ``build/`` folder. The new environment has no pip and no network: the wheel goes in with
``pip --python``, and the third-party dependencies come from the project venv through a
``.pth`` line. That line only adds the folder to ``sys.path``; ``.pth`` files inside it (the
editable install's finder that points at the checkout) are not run, so the checkout itself
stays out of reach and every ``atsd-bot`` command runs from the installed files alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Not part of a build: environments, build output, caches, local state.
_NOT_COPIED = shutil.ignore_patterns(
    ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", "var",
    ".cache", ".hypothesis", ".mypy_cache", ".ruff_cache", ".pytest_cache", "artifacts",
    "node_modules", "*.db", "*.db-wal", "*.db-shm")
# Variables that could put the checkout or the project venv's settings back in play.
_DROPPED_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH")


@dataclass(frozen=True)
class Installed:
    """The installed wheel: its file, the environment and how to run its commands."""

    wheel: Path
    prefix: Path
    site_packages: Path
    workdir: Path  # an unrelated, empty folder to run commands from
    env: dict[str, str]

    @property
    def bin(self) -> Path:
        return self.prefix / "bin"

    def run(self, *args: str, timeout: float = 60,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """``atsd-bot ARGS`` from the new environment, in ``workdir`` (``env``: added)."""
        return subprocess.run([str(self.bin / "atsd-bot"), *args], cwd=self.workdir,
                              env={**self.env, **(env or {})}, capture_output=True, text=True,
                              timeout=timeout)

    def python(self, code: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.bin / "python"), "-c", code], cwd=self.workdir,
                              env=self.env, capture_output=True, text=True, timeout=60)


def _check(cmd: list[str], what: str) -> None:
    """Run ``cmd`` offline; fail the session's wheel tests with its output when it fails."""
    env = {**os.environ, "PIP_NO_INDEX": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    if done.returncode != 0:
        pytest.fail(f"{what} failed ({done.returncode}): {' '.join(cmd)}\n"
                    f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def build_wheel(target: Path) -> Path:
    """Build the checkout's wheel into ``target`` offline and return its path."""
    source = target / "src"
    shutil.copytree(ROOT, source, ignore=_NOT_COPIED)
    dist = target / "dist"
    _check([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps",
            "--no-build-isolation", "-q", "-w", str(dist)],
           "building the wheel (needs setuptools>=68 and wheel: pip install -e '.[test]')")
    wheels = sorted(dist.glob("atsd_bot-*.whl"))
    assert len(wheels) == 1, f"expected one atsd_bot wheel in {dist}: {wheels}"
    return wheels[0]


def install_wheel(wheel: Path, prefix: Path, workdir: Path) -> Installed:
    """A fresh venv holding ``wheel``; dependencies borrowed from the project venv."""
    venv.create(prefix, with_pip=False, symlinks=True)
    python = prefix / "bin" / "python"
    _check([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
            "--no-index", "-q", str(wheel)], "installing the wheel")
    site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip())
    borrowed = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "zz_project_dependencies.pth").write_text("\n".join(borrowed) + "\n")
    env = {k: v for k, v in os.environ.items()
           if k not in _DROPPED_ENV and not k.startswith("ATSD_BOT_")}
    env["PATH"] = f"{prefix / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    workdir.mkdir(parents=True, exist_ok=True)
    return Installed(wheel=wheel, prefix=prefix, site_packages=site, workdir=workdir, env=env)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """Built and installed once per session (a few seconds); every wheel test shares it."""
    base = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(base)
    yield install_wheel(wheel, base / "venv", base / "elsewhere")
