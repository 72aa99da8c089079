"""examples/: the configuration loads, the example rules validate against it, the unit parses.

The commands run as a user would run them (``atsd-bot`` as a subprocess), with the secret the
example leaves to the environment given there, as the systemd unit's EnvironmentFile would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.packaging import config_reference as reference

ROOT = reference.ROOT
EXAMPLES = ROOT / "examples"
CONFIG = EXAMPLES / "atsd-bot.toml"
ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("ATSD_BOT_")},
       "ATSD_BOT_ROCKETCHAT_TOKEN": "example-token"}


def atsd_bot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=120)


def test_the_example_configuration_loads() -> None:
    settings = reference.load_settings(CONFIG, environ=ENV)
    assert settings.rocketchat is not None and settings.rocketchat.token == "example-token"
    assert {"log", "rocketchat"} <= set(settings.endpoints)
    assert settings.database.url.startswith("sqlite:////")  # absolute, as the docs advise


def test_the_example_rules_validate_against_the_example_configuration(tmp_path: Path) -> None:
    done = atsd_bot("rules", "validate", "--config", str(CONFIG), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    count = len(list((EXAMPLES / "rules").glob("*.yml")))
    assert f"{count} rules valid, 0 errors, 0 warnings" in done.stdout + done.stderr
    assert "not checked" not in done.stdout + done.stderr  # endpoint names were checked


def test_the_example_configuration_shows_every_section_and_key() -> None:
    text = CONFIG.read_text(encoding="utf-8")
    for section in reference.sections():
        heading = re.escape(section.heading).replace("NAME", r"\w+")
        assert re.search(rf"^(# )?{heading}", text, re.M), \
            f"{section.heading} missing from {CONFIG.name}"
        table = section.heading.strip("[]")
        for key in section.keys:  # "key = value", or a sub-table such as [webhook.tokens]
            assert re.search(rf"^(# )?({key.key} = |\[{re.escape(table)}\.{key.key}\])",
                             text, re.M), \
                f"{section.heading} {key.key} missing from {CONFIG.name}"


def test_the_systemd_unit_parses(tmp_path: Path) -> None:
    unit = (EXAMPLES / "atsd-bot.service").read_text(encoding="utf-8")
    assert re.search(r"^ExecStart=\S+atsd-bot serve --config \S+\.toml", unit, re.M)
    assert re.search(r"^ExecReload=/bin/kill -HUP \$MAINPID$", unit, re.M)
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    copy = tmp_path / "atsd-bot.service"
    copy.write_text(unit)
    done = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True,
                          timeout=60)
    # The unit names the installed command, which this machine does not have.
    problems = [line for line in (done.stdout + done.stderr).splitlines()
                if line.strip() and "is not executable" not in line]
    assert not problems, problems
