"""Named surfaces of the issues: /healthz, /metrics, the UI's paths and buttons, the CLIs."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.acceptance.conftest import ADMIN, API, HOOK, ROOT, TOKEN, Served

W = "/api/v1/messages/webhook"


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


# --- /healthz and /metrics -----------------------------------------------------------------

def test_healthz(served: Served) -> None:
    r = requests.get(served.url("/healthz"), timeout=5)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["paths"]["webhook"]["ready"] is True and "realtime" in body["paths"]
    assert body["paths"]["webhook"]["listening"].startswith("http://")
    assert {"depth", "failed"} <= set(body["outbox"])


def test_metrics(served: Served) -> None:
    served.hook(f"{W}/metrics-probe", json={})
    r = requests.get(served.url("/metrics"), timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    text = r.text
    for family in ("atsdbot_http_requests_total", "atsdbot_http_request_seconds",
                   "atsdbot_ingest_commands_total", "atsdbot_ingest_duplicates_total",
                   "atsdbot_ingest_seconds", "atsdbot_alerts_open",
                   "atsdbot_notifications_by_result"):
        assert f"# TYPE {family}" in text, family
    assert re.search(r'atsdbot_ingest_commands_total\{path="webhook"\} [1-9]', text), text[:2000]


# --- diagnostics API -----------------------------------------------------------------------

def test_request_log_and_incidents(served: Served) -> None:
    served.hook(f"{W}/diag-1?x=1", json={"a": "b"})
    requests.post(served.url(f"{W}/diag-2"), json={}, auth=("ghost", "pw-xyz"), timeout=5)
    rows = served.api_get("/api/v1/webhooks/requests?limit=5")
    assert len(rows) <= 5
    mine = [r for r in rows if "diag-1" in json.dumps(r)]
    assert mine, rows
    text = json.dumps(mine[0])
    for needle in ("POST", "/api/v1/messages/webhook/diag-1?x=1", "127.0.0.1", "hook",
                   "application/json", "200"):
        assert needle in text, needle
    incidents = served.api_get("/api/v1/security/incidents?limit=10")
    ghost = [i for i in incidents if "ghost" in json.dumps(i)]
    assert ghost, incidents
    assert "diag-2" in json.dumps(ghost[0]) and "127.0.0.1" in json.dumps(ghost[0])
    assert "pw-xyz" not in json.dumps(incidents)
    assert "unknown user" in json.dumps(ghost[0]).lower()


def test_incident_reasons(served: Served) -> None:
    requests.post(served.url(f"{W}/r-none"), json={}, timeout=5)
    requests.post(served.url(f"{W}/r-wrong"), json={}, auth=(HOOK[0], "nope"), timeout=5)
    requests.post(served.url(f"{W}/rocket.chat"), json={"token": "bad", "message_id": "z"},
                  auth=HOOK, timeout=5)
    requests.post(served.url(f"{W}/r-perm"), json={}, auth=("limited", "limited-pass-1"),
                  timeout=5)
    text = json.dumps(served.api_get("/api/v1/security/incidents?limit=20")).lower()
    for reason in ("no credentials", "wrong password", "token mismatch", "not permitted"):
        assert reason in text, reason
    assert "bad" not in re.findall(r'"token[^"]*": "([^"]*)"', text)
    assert TOKEN not in text and "nope" not in text


def test_diagnostics_need_role(served: Served) -> None:
    assert requests.get(served.url("/api/v1/webhooks/requests"), timeout=5).status_code == 401
    assert requests.get(served.url("/api/v1/webhooks/requests"), auth=HOOK,
                        timeout=5).status_code == 403
    assert requests.get(served.url("/api/v1/security/incidents"), auth=ADMIN,
                        timeout=5).status_code == 200


# --- UI --------------------------------------------------------------------------------------

def login(served: Served) -> requests.Session:
    s = requests.Session()
    page = s.get(served.url("/ui/login"), timeout=5)
    assert page.status_code == 200
    assert 'name="username"' in page.text and 'name="password"' in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    data = {"username": ADMIN[0], "password": ADMIN[1]}
    if csrf:
        data["csrf_token"] = csrf.group(1)
    r = s.post(served.url("/ui/login"), data=data, timeout=5)
    assert r.status_code == 200 and "logout" in r.text.lower(), r.text[:500]
    return s


def test_root_leads_to_ui(served: Served) -> None:
    r = requests.get(served.url("/"), allow_redirects=False, timeout=5)
    assert r.status_code in (301, 302, 303, 307, 308)
    assert r.headers["Location"].endswith("/ui/")


def test_ui_needs_login(served: Served) -> None:
    r = requests.get(served.url("/ui/"), allow_redirects=False, timeout=5)
    assert r.status_code in (302, 303) and "/ui/login" in r.headers["Location"]


def test_ui_login_refused_is_incident(served: Served) -> None:
    s = requests.Session()
    page = s.get(served.url("/ui/login"), timeout=5)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    data = {"username": ADMIN[0], "password": "wrong-ui-pw"}
    if csrf:
        data["csrf_token"] = csrf.group(1)
    r = s.post(served.url("/ui/login"), data=data, timeout=5)
    assert r.status_code in (200, 401, 403) and "logout" not in r.text.lower()
    text = json.dumps(served.api_get("/api/v1/security/incidents?limit=20"))
    assert "/ui/login" in text and "wrong-ui-pw" not in text


def test_ui_pages_and_buttons(served: Served) -> None:
    s = login(served)
    served.hook(f"{W}/ui-probe", json={"a": 1})
    requests.post(served.url("/api/v1/messages/insert"),
                  json=[{"entity": "ui-al", "source": "acc-src", "message": "x"}], auth=API,
                  timeout=5)
    pages = {"/ui/webhooks": "Replay", "/ui/alerts": "Acknowledge", "/ui/rules": "Import",
             "/ui/incidents": None, "/ui/messages": None, "/ui/alerts/history": None,
             "/ui/windows": None, "/ui/notifications": None, "/ui/status": None}
    for path, button in pages.items():
        r = s.get(served.url(path), timeout=5)
        assert r.status_code == 200, path
        if button and path != "/ui/webhooks":
            assert button in r.text, (path, button)
    assert "Dry run" in s.get(served.url("/ui/rules"), timeout=5).text
    listing = s.get(served.url("/ui/webhooks"), timeout=5).text
    ids = re.findall(r'/ui/webhooks/(\d+)', listing)
    assert ids
    detail = s.get(served.url(f"/ui/webhooks/{ids[0]}"), timeout=5)
    assert detail.status_code == 200 and "Replay" in detail.text
    alerts = s.get(served.url("/ui/alerts"), timeout=5).text
    assert "Acknowledge" in alerts


# --- CLI -------------------------------------------------------------------------------------

def test_atsd_bot_help() -> None:
    done = run("-m", "bot", "--help")
    assert done.returncode == 0 and "serve" in done.stdout and "rules" in done.stdout
    exe = Path(sys.executable).parent / "atsd-bot"
    done = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "serve" in done.stdout


def test_config_error_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[http]\nport = 70000\n")
    done = run("-m", "bot", "serve", "--config", str(config))
    assert done.returncode == 2
    assert "http.port" in done.stderr and "Traceback" not in done.stderr


def test_env_override_bad_value_names_key(tmp_path: Path) -> None:
    config = tmp_path / "ok.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "x.db"}"\n')
    done = run("-m", "bot", "serve", "--config", str(config),
               env={"ATSD_BOT_HTTP_PORT": "notaport"})
    assert done.returncode == 2 and "http.port" in done.stderr.lower()


def test_env_override_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path / "ok.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "x.db"}"\n[rules]\n'
                      f'paths = ["{tmp_path}"]\n')
    log = tmp_path / "log"
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--config", str(config)],
                            cwd=ROOT, stdout=open(log, "w"), stderr=subprocess.STDOUT,  # noqa: SIM115
                            env={**os.environ, "ATSD_BOT_HTTP_PORT": str(port),
                                 "ATSD_BOT_HTTP_HOST": "127.0.0.1"})
    try:
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
                if status == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.1)  # polling for a condition, with a deadline
        assert status == 200, log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_simulator_cli(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    proc = subprocess.Popen([sys.executable, "-m", "tests.rocketchat_server", "--host",
                             "127.0.0.1", "--port", "0", "--admin-user", "boss",
                             "--admin-password", "boss-pw", "--state", str(state)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        assert url, line
        r = requests.post(f"{url.group(1)}/api/v1/login",
                          json={"user": "boss", "password": "boss-pw"}, timeout=5)
        assert r.status_code == 200 and r.json()["status"] == "success"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert state.exists()


def test_provisioning_help_flags() -> None:
    user = run("-m", "scripts.create_bot_user", "--help")
    assert user.returncode == 0
    for flag in ("--server", "--admin-user", "--admin-password", "--admin-id", "--admin-token",
                 "--bot-username", "--bot-password", "--bot-email", "--bot-name",
                 "--token-name", "--dry-run"):
        assert flag in user.stdout, flag
    hook = run("-m", "scripts.create_outgoing_integration", "--help")
    assert hook.returncode == 0
    for flag in ("--server", "--bot-username", "--webhook-url", "--webhook-user",
                 "--webhook-password", "--name", "--channel", "--trigger-words", "--token",
                 "--retry", "--dry-run"):
        assert flag in hook.stdout, flag
    check = run("-m", "scripts.check_integration", "--help")
    assert check.returncode == 0


def test_provisioning_unreachable_one_line() -> None:
    done = run("-m", "scripts.create_bot_user", "--server", "http://127.0.0.1:9",
               "--admin-user", "a", "--admin-password", "b", "--bot-username", "atsd_bot")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error:")


def test_request_log_keeps_the_configured_number(tmp_path: Path) -> None:
    from tests.acceptance.conftest import start_serve

    s = start_serve(tmp_path, extra="[webhook]\nrequest_log_size = 5\n")
    try:
        for i in range(8):
            s.hook(f"{W}/keep-{i}", json={"i": i})
        for i in range(7):
            requests.post(s.url(f"{W}/inc-{i}"), json={}, timeout=5)
        rows = s.api_get("/api/v1/webhooks/requests?limit=100")
        assert len(rows) == 5
        assert "inc-6" in json.dumps(rows[0])  # newest first; refused requests are logged too
        assert len(s.api_get("/api/v1/security/incidents?limit=100")) == 5
    finally:
        s.proc.terminate()
        s.proc.wait(timeout=15)


def test_ui_acknowledge_and_unacknowledge(served: Served) -> None:
    s = login(served)
    requests.post(served.url("/api/v1/messages/insert"), auth=API, timeout=5,
                  json=[{"entity": "ui-ack", "source": "acc-src", "message": "x"}])
    [alert] = served.api("/api/v1/alerts/query", [{"entity": "ui-ack", "startDate":
                                                   "2000-01-01T00:00:00Z", "endDate": "now"}]
                         ).json()
    page = s.get(served.url("/ui/alerts"), timeout=5).text
    form = re.search(rf'action="[^"]*/ui/alerts/{alert["id"]}/acknowledge".*?name="csrf_token"'
                     r' value="([^"]+)"', page, re.S)
    assert form, page[:3000]
    r = s.post(served.url(f"/ui/alerts/{alert['id']}/acknowledge"),
               data={"csrf_token": form.group(1)}, timeout=5)
    assert r.status_code == 200
    [acked] = served.api("/api/v1/alerts/query", [{"entity": "ui-ack", "startDate":
                                                   "2000-01-01T00:00:00Z", "endDate": "now"}]
                         ).json()
    assert acked["acknowledged"] is True
    assert "Unacknowledge" in s.get(served.url("/ui/alerts"), timeout=5).text
    # without the CSRF token the form is refused
    bad = s.post(served.url(f"/ui/alerts/{alert['id']}/unacknowledge"), data={}, timeout=5)
    assert bad.status_code in (400, 403)


def test_env_overrides_users_and_tokens(tmp_path: Path) -> None:
    from tests.acceptance.conftest import start_serve

    users = json.dumps([{"name": "envu", "password": "envp", "roles": ["webhook", "api"]}])
    os.environ["ATSD_BOT_USERS"] = users
    os.environ["ATSD_BOT_WEBHOOK_TOKENS"] = json.dumps({"rocket.chat": "env-token"})
    try:
        s = start_serve(tmp_path)
    finally:
        del os.environ["ATSD_BOT_USERS"], os.environ["ATSD_BOT_WEBHOOK_TOKENS"]
    try:
        assert s.hook(f"{W}/env", json={}).status_code == 401  # the file's users replaced
        ok = s.hook(f"{W}/rocket.chat", auth=("envu", "envp"),
                    json={"token": "env-token", "message_id": "env-1", "text": "x"})
        assert ok.status_code == 200, ok.text
        bad = s.hook(f"{W}/rocket.chat", auth=("envu", "envp"),
                     json={"token": TOKEN, "message_id": "env-2", "text": "x"})
        assert bad.status_code == 403
    finally:
        s.proc.terminate()
        s.proc.wait(timeout=15)


def test_ui_retry_now_for_a_failed_notification(tmp_path: Path) -> None:
    import socket

    from tests.acceptance.conftest import start_serve

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]  # closed again: nothing listens there
    extra = (f'[endpoints.down]\nkind = "http"\nurl = "http://127.0.0.1:{dead}/hook"\n'
             "[delivery]\nmax_attempts = 1\nbackoff_seconds = 0.1\n")
    rules = ("rules:\n  - name: to_down\n    source: down\n    window: length(1)\n"
             "    notifications:\n      - endpoint: down\n        open: 'x'\n")
    s = start_serve(tmp_path, extra=extra, rules=rules)
    try:
        s.hook(f"{W}/down-1?source=down", json={})
        deadline = time.monotonic() + 20
        rows: list = []
        while time.monotonic() < deadline:
            rows = [r for r in s.api_get("/api/v1/notifications?limit=10")
                    if r["status"] == "failed"]
            if rows:
                break
            time.sleep(0.1)  # polling a condition with a deadline
        assert rows and rows[0]["attempt_log"] and rows[0]["last_error"]
        assert "Retry now" in login(s).get(s.url("/ui/notifications"), timeout=5).text
        health = requests.get(s.url("/healthz"), timeout=5).json()
        assert health["outbox"]["failed"] >= 1
    finally:
        s.proc.terminate()
        s.proc.wait(timeout=15)


def test_port_in_use_exit_4(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        config = tmp_path / "c.toml"
        config.write_text(f'[http]\nhost = "127.0.0.1"\nport = {port}\n[database]\n'
                          f'url = "sqlite:///{tmp_path / "x.db"}"\n[rules]\n'
                          f'paths = ["{tmp_path}"]\n')
        done = run("-m", "bot", "serve", "--config", str(config))
    assert done.returncode == 7, done.stderr[-2000:]
    assert "Traceback" not in done.stderr


def test_ui_login_needs_admin_role(served: Served) -> None:
    s = requests.Session()
    page = s.get(served.url("/ui/login"), timeout=5)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    data = {"username": API[0], "password": API[1]}
    if csrf:
        data["csrf_token"] = csrf.group(1)
    r = s.post(served.url("/ui/login"), data=data, timeout=5)
    assert "logout" not in r.text.lower()
    assert s.get(served.url("/ui/alerts"), allow_redirects=False, timeout=5).status_code in (
        302, 303, 401, 403)


def test_request_detail_masks_secrets(served: Served) -> None:
    served.hook(f"{W}/rocket.chat?command.message=text", json={
        "token": TOKEN, "message_id": "detail-1", "text": "see me", "bot": False})
    rows = served.api_get("/api/v1/webhooks/requests?limit=10")
    mine = next(r for r in rows if "detail-1" in json.dumps(r))
    detail = served.api_get(f"/api/v1/webhooks/requests/{mine['id']}")
    text = json.dumps(detail)
    assert "see me" in text and detail["status"] == 200
    assert TOKEN not in text and HOOK[1] not in text
    assert detail["command"]["message"] == "see me"
    missing = requests.get(served.url("/api/v1/webhooks/requests/99999999"), auth=API,
                           timeout=5)
    assert missing.status_code == 404 and "error" in missing.json()
