"""The wheel works with no source tree: data files packaged, commands run, ``serve`` serves.

Everything runs from the virtual environment of ``conftest.installed`` (the wheel built from
this checkout) in an unrelated folder, so a file the code opens at run time that the wheel
lacks (the rule grammar, a UI template, a stylesheet) fails here as it would for a user.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests

from tests.packaging.conftest import ROOT, Installed

T = TypeVar("T")
EXAMPLE_RULES = ROOT / "examples" / "rules"
ADMIN = ("admin", "wheel-admin-pass-1")
HOOK = ("hook", "wheel-hook-pass-1")
RULE = """
rules:
  - name: wheel_check
    source: wheel
    filter: "message LIKE '*disk*' AND tags.host != ''"
    window: length(1)
    condition: "true"
    notifications:
      - endpoint: log
        open: 'disk on ${tags.host}: ${message}'
"""


def wait_for(predicate: Callable[[], T | None], seconds: float, what: str) -> T:
    """Poll ``predicate`` until it returns a value, failing with ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)  # polling a condition, bounded by the deadline
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def shipped_data_files(top_levels: list[str]) -> set[str]:
    """Every file in the checkout's shipped packages that is not Python source."""
    found = set()
    for top in top_levels:
        for path in (ROOT / top).rglob("*"):
            if path.is_file() and path.suffix not in (".py", ".pyc") \
                    and "__pycache__" not in path.parts:
                found.add(path.relative_to(ROOT).as_posix())
    return found


def test_the_wheel_holds_every_data_file_of_its_packages(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        top_level = next(n for n in names if n.endswith(".dist-info/top_level.txt"))
        top_levels = wheel.read(top_level).decode().split()
    assert {"bot", "rules", "webhook"} <= set(top_levels)
    expected = shipped_data_files(top_levels)
    # the files the code is known to open at run time, named so a rename is noticed here
    assert {"rules/expr/grammar.lark", "webhook/templates/ui/login.html",
            "webhook/static/ui.css"} <= expected
    missing = sorted(expected - names)
    assert not missing, f"data files the wheel lacks (setup.cfg package_data): {missing}"
    assert not [n for n in names if n.startswith(("tests/", "docs/", "examples/"))]


def test_the_installed_code_is_the_wheels_not_the_checkouts(installed: Installed) -> None:
    done = installed.python(
        "import importlib.util, json, sys, bot, rules, webhook, scripts\n"
        "spec = importlib.util.find_spec('tests')\n"
        "print(json.dumps({'files': [m.__file__ for m in (bot, rules, webhook, scripts)],"
        " 'tests': spec.origin if spec else None, 'path': sys.path}))")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    for file in found["files"]:
        assert Path(file).is_relative_to(installed.site_packages), file
    assert found["tests"] is None or not Path(found["tests"]).is_relative_to(ROOT / "tests")
    assert str(ROOT) not in found["path"]


def test_help_lists_the_commands(installed: Installed) -> None:
    done = installed.run("--help")
    assert done.returncode == 0, done.stderr
    for command in ("serve", "rules"):
        assert re.search(rf"^\s+{command}\s", done.stdout, re.M), done.stdout


def test_rules_validate_loads_the_grammar_and_the_example_rules(installed: Installed,
                                                                tmp_path: Path) -> None:
    rules = tmp_path / "rules.d"
    shutil.copytree(EXAMPLE_RULES, rules)
    (rules / "wheel.yml").write_text(RULE)
    done = installed.run("rules", "validate", str(rules))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "error" not in done.stderr.lower(), done.stderr


def _config(site: Path) -> Path:
    (site / "rules.d").mkdir(parents=True)
    (site / "rules.d" / "wheel.yml").write_text(RULE)
    config = site / "atsd-bot.toml"
    config.write_text(f"""
[http]
host = "127.0.0.1"
port = 0
[database]
url = "sqlite:///{site / 'atsd-bot.db'}"
[[users]]
name = "{ADMIN[0]}"
password = "{ADMIN[1]}"
roles = ["admin", "api"]
[[users]]
name = "{HOOK[0]}"
password = "{HOOK[1]}"
roles = ["webhook"]
[rules]
paths = ["rules.d"]
""")
    return config


def _base_url(log: Path, proc: subprocess.Popen[Any]) -> str | None:
    if proc.poll() is not None:
        raise AssertionError(f"serve exited with {proc.returncode}:\n{log.read_text()}")
    match = re.search(r"web UI at (http://\S+?)/ui/", log.read_text())
    return match.group(1) if match else None


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def _check_ui(base: str, admin: tuple[str, str] = ADMIN) -> None:
    """The login page, the stylesheet, a login and every page the navigation links to."""
    ui = requests.Session()
    page = ui.get(f"{base}/ui/login", timeout=10)
    assert page.status_code == 200, page.text[:500]
    assert "Log in" in page.text
    for asset in re.findall(r'(?:href|src)="(/[^"]+\.(?:css|js))"', page.text):
        assert ui.get(base + asset, timeout=10).status_code == 200, asset
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    overview = ui.post(f"{base}/ui/login", timeout=10, data={
        "csrf_token": token.group(1), "username": admin[0], "password": admin[1]})
    assert overview.status_code == 200 and "Log out" in overview.text, overview.text[:500]
    links = set(re.findall(r'<a href="(/ui/[^"]*)"', overview.text))
    assert len(links) >= 5, overview.text
    for link in sorted(links):
        answer = ui.get(base + link, timeout=10)
        assert answer.status_code == 200, (link, answer.text[:500])


def test_serve_from_the_wheel_answers_health_ui_and_webhooks(installed: Installed,
                                                             tmp_path: Path) -> None:
    config = _config(tmp_path / "site")
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(installed.bin / "atsd-bot"), "serve", "--config",
                                 str(config)], cwd=installed.workdir, env=installed.env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        base = wait_for(lambda: _base_url(log, proc), 30, "serve's 'web UI at' line")
        wait_for(lambda: _healthy(base), 30, "GET /healthz to answer 200")
        _check_ui(base)
        hook = requests.post(f"{base}/api/v1/messages/webhook/wheel?command.message=message",
                             auth=HOOK, json={"message": "disk full", "host": "db1"},
                             timeout=10)
        assert hook.status_code == 200, hook.text
        wait_for(lambda: "disk on db1: disk full" in log.read_text(), 20,
                 "the rule's log notification")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log.read_text(), log.read_text()


def test_init_config_check_and_serve_from_the_wheel(installed: Installed,
                                                    tmp_path: Path) -> None:
    """A new user's first three commands, from the installed wheel in an unrelated folder."""
    site = tmp_path / "site"
    made = installed.run("init", str(site))
    assert made.returncode == 0, made.stderr
    password = re.search(r"^admin password: (\S+)$", made.stdout, re.M)
    assert password, made.stdout
    free_port = {"ATSD_BOT_HTTP_PORT": "0"}  # the test must not depend on 8088 being free
    checked = installed.run("config", "check", "--config", str(site / "atsd-bot.toml"),
                            env=free_port)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.splitlines()[-1] == "all checks passed"
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(installed.bin / "atsd-bot"), "serve", "--config",
                                 str(site / "atsd-bot.toml")], cwd=installed.workdir,
                                env={**installed.env, **free_port}, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        base = wait_for(lambda: _base_url(log, proc), 30, "serve's 'web UI at' line")
        wait_for(lambda: _healthy(base), 30, "GET /healthz to answer 200")
        _check_ui(base, ("admin", password.group(1)))
        assert (site / "atsd-bot.db").exists()  # beside the file, not in the working folder
        assert not list(installed.workdir.glob("**/*.db"))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log.read_text(), log.read_text()
