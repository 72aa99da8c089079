"""A real ``atsd-bot serve`` process, started once per test module, for black-box tests.

Only public surfaces are used: HTTP against the served port, and the CLI as a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

# ATSD_ACC_DB_URL runs the served processes on another store, e.g. a PostgreSQL database of
# their own (each module's process then shares it with the modules before it).
# The tree whose ``atsd-bot serve`` is tested: this checkout, or another one (e.g. a clean
# export of the last commit while files are being edited) named by ATSD_ACC_ROOT.
ROOT = Path(os.environ.get("ATSD_ACC_ROOT") or Path(__file__).resolve().parents[2])
TOKEN = "ir7hozblv4"
HOOK = ("hook", "hook-pass-1")
API = ("api", "api-pass-1")
ADMIN = ("admin", "admin-pass-1")
LIMITED = ("limited", "limited-pass-1")

RULES = """
rules:
  - name: acc_open
    source: acc-src
    window: length(1)
    condition: "message != 'stop'"
    severity: WARNING
    notifications:
      - endpoint: log
        open: 'open ${entity} ${message}'
        repeat: 'repeat ${message}'
        cancel: 'cancel ${message}'
"""


def config_text(tmp: Path, extra: str = "", token: bool = True) -> str:
    tokens = f'[webhook.tokens]\n"rocket.chat" = "{TOKEN}"' if token else ""
    return f"""
[http]
port = 0
trusted_proxies = ["10.0.0.0/8"]
max_body_bytes = 65536
[database]
url = "{os.environ.get('ATSD_ACC_DB_URL') or f"sqlite:///{tmp / 'atsd.db'}"}"
[[users]]
name = "{HOOK[0]}"
password = "{HOOK[1]}"
roles = ["webhook"]
[[users]]
name = "{API[0]}"
password = "{API[1]}"
roles = ["api"]
[[users]]
name = "{ADMIN[0]}"
password = "{ADMIN[1]}"
roles = ["admin"]
[[users]]
name = "{LIMITED[0]}"
password = "{LIMITED[1]}"
roles = ["webhook"]
entities = ["jenkins*"]
{tokens}
[rules]
paths = ["{tmp / 'rules.d'}"]
{extra}
"""


def wait_for(predicate: Any, seconds: float = 20.0) -> Any:
    """Poll ``predicate`` until it returns something truthy, or fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)  # polling a condition with a deadline
    raise AssertionError("condition not met")


@dataclass
class Served:
    proc: subprocess.Popen[str]
    log: Path
    base: str

    def url(self, path: str) -> str:
        return self.base + path

    def hook(self, path: str, *, auth: Any = HOOK, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return requests.post(self.base + path, auth=auth, **kwargs)

    def debug(self, path: str, **kwargs: Any) -> dict[str, Any]:
        sep = "&" if "?" in path else "?"
        response = self.hook(f"{path}{sep}debug=true", **kwargs)
        assert response.status_code == 200, (response.status_code, response.text)
        data: dict[str, Any] = response.json()
        return data

    def api(self, path: str, body: Any, auth: Any = API) -> requests.Response:
        return requests.post(self.base + path, json=body, auth=auth, timeout=10)

    def api_get(self, path: str, auth: Any = API) -> Any:
        response = requests.get(self.base + path, auth=auth, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()


def start_serve(tmp: Path, extra: str = "", rules: str = RULES, token: bool = True) -> Served:
    (tmp / "rules.d").mkdir(exist_ok=True)
    (tmp / "rules.d" / "acc.yml").write_text(rules)
    config = tmp / "atsd.toml"
    config.write_text(config_text(tmp, extra, token))
    log = tmp / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--config", str(config)], cwd=ROOT,
        stdout=open(log, "w"), stderr=subprocess.STDOUT, text=True,  # noqa: SIM115
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = log.read_text()
        for line in text.splitlines():
            if "web UI at " in line:
                base = line.split("web UI at ")[1].split("/ui/")[0]
                return Served(proc, log, base)
        if proc.poll() is not None:
            break
        time.sleep(0.05)  # polling the log for a condition, with a deadline
    proc.kill()
    raise AssertionError(f"serve did not start:\n{log.read_text()}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = start_serve(tmp_path_factory.mktemp("acc"))
    yield s
    s.proc.terminate()
    try:
        s.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        s.proc.kill()
        s.proc.wait()
