"""The scripts as an admin runs them: `python -m ...` in a fresh process, secrets from env."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("module", ["scripts.create_bot_user",
                                    "scripts.create_outgoing_integration",
                                    "scripts.check_integration"])
def test_unreachable_server_is_one_line_and_exit_4(module: str) -> None:
    env = {**os.environ, "ATSD_BOT_PROVISION_SERVER": f"http://127.0.0.1:{_closed_port()}",
           "ATSD_BOT_PROVISION_ADMIN_USER": "admin",
           "ATSD_BOT_PROVISION_ADMIN_PASSWORD": "very-secret-pw",
           "ATSD_BOT_PROVISION_BOT_USERNAME": "atsd_bot",
           "ATSD_BOT_PROVISION_WEBHOOK_URL": "http://127.0.0.1:1",
           "ATSD_BOT_PROVISION_WEBHOOK_USER": "u", "ATSD_BOT_PROVISION_WEBHOOK_PASSWORD": "p",
           "ATSD_BOT_PROVISION_ATSD_URL": f"http://127.0.0.1:{_closed_port()}",
           "ATSD_BOT_PROVISION_API_USER": "u", "ATSD_BOT_PROVISION_API_PASSWORD": "p"}
    done = subprocess.run([sys.executable, "-m", module], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 4, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot ")
    assert "very-secret-pw" not in done.stderr
