"""Nobody let in, nothing given away: a real ``atsd-bot serve`` fed hostile traffic.

One service process (SQLite, Rocket.Chat endpoint on the simulator) with several users; each
refusal case comes from its own client address (``X-Forwarded-For`` from a trusted proxy), so
the incidents can be told apart and the throttle of one address does not hide the others.
At the end the service is stopped and every configured secret is searched for in the log
output, in a dump of the whole database and in every UI page an admin can open.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.reliability.harness import (
    BOT_PASSWORD,
    BOT_USER,
    HOOK_PASSWORD,
    HOOK_TOKEN,
    HOOK_USER,
    ServiceProcess,
    free_port,
    wait_until,
    write_config,
)  # fmt: skip
from tests.rocketchat_server.control import Simulator

ADMIN_PASSWORD = "ui-admin-Secret-4"
API_PASSWORD = "api-only-Secret-5"
LIMITED_PASSWORD = "limited-Secret-6"
OTHER_PASSWORD = "other-hook-Secret-7"
SECRETS = (BOT_PASSWORD, HOOK_PASSWORD, HOOK_TOKEN, ADMIN_PASSWORD, API_PASSWORD,
           LIMITED_PASSWORD, OTHER_PASSWORD)
USERS = f"""
trusted_proxies = ["127.0.0.1"]
[[users]]
name = "admin"
password = "{ADMIN_PASSWORD}"
roles = ["admin", "api"]
[[users]]
name = "apionly"
password = "{API_PASSWORD}"
roles = ["api"]
[[users]]
name = "limited"
password = "{LIMITED_PASSWORD}"
roles = ["webhook"]
paths = ["alpha*"]
[[users]]
name = "other"
password = "{OTHER_PASSWORD}"
roles = ["webhook"]
"""


class Service:
    def __init__(self, process: ServiceProcess, db_file: Path) -> None:
        self.process, self.db_file = process, db_file
        self.url = process.base_url

    def post(self, path: str = "rocket.chat", *, addr: str, auth: tuple[str, str] | None,
             body: dict[str, object] | None = None, **params: str) -> requests.Response:
        return requests.post(f"{self.url}/api/v1/messages/webhook/{path}", params=params,
                             json=body if body is not None else {"text": "hi"}, auth=auth,
                             headers={"X-Forwarded-For": addr}, timeout=10)

    def incidents(self) -> list[tuple[str, str, str | None]]:
        with sqlite3.connect(self.db_file) as conn:
            return [tuple(row) for row in conn.execute(
                "SELECT remote_addr, reason, user FROM security_incidents ORDER BY id")]


def rc_body(message_id: str, text: str, token: str = HOOK_TOKEN) -> dict[str, object]:
    return {"token": token, "bot": False, "channel_id": "GENERAL", "channel_name": "general",
            "message_id": message_id, "timestamp": "2026-11-28T07:00:00.000Z",
            "user_id": "someUser000000001", "user_name": "someone", "text": text}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("security")
    sim = Simulator().start()
    try:
        sim.create_user(BOT_USER, BOT_PASSWORD, roles=("user", "bot"))
        port = free_port()
        config = write_config(tmp, db_url=f"sqlite:///{tmp / 'atsd.db'}", sim_url=sim.url,
                              port=port, extra="")
        # the [http] table takes the proxy setting, the users go at the end
        text = config.read_text().replace(f"port = {port}\n",
                                          f"port = {port}\n{USERS.splitlines()[1]}\n", 1)
        config.write_text(text + "\n".join(USERS.splitlines()[2:]) + "\n")
        process = ServiceProcess(config, port, tmp).start()
        yield Service(process, tmp / "atsd.db")
        process.terminate()
    finally:
        sim.stop()


REFUSALS: list[tuple[str, Callable[[Service, str], requests.Response], int, str]] = [
    ("no credentials", lambda s, a: s.post(addr=a, auth=None, body=rc_body("n1", "x")), 401,
     "no credentials"),
    ("wrong password", lambda s, a: s.post(addr=a, auth=(HOOK_USER, "wrong"),
                                           body=rc_body("n2", "x")), 401, "wrong password"),
    ("valid user without the role",
     lambda s, a: s.post(addr=a, auth=("apionly", API_PASSWORD), body=rc_body("n3", "x")),
     403, "role"),
    ("token mismatch",
     lambda s, a: s.post(addr=a, auth=(HOOK_USER, HOOK_PASSWORD),
                         body=rc_body("n4", "x", token=LIMITED_PASSWORD)), 403, "token mismatch"),
    ("credentials for another path",
     lambda s, a: s.post("beta", addr=a, auth=("limited", LIMITED_PASSWORD)), 403, "path"),
]


@pytest.mark.parametrize("case", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_each_refusal_is_refused_and_recorded(service: Service, case: tuple) -> None:
    name, call, status, reason = case
    addr = f"10.1.0.{REFUSALS.index(case) + 1}"
    answer = call(service, addr)
    assert answer.status_code == status, answer.text
    assert "error" in answer.json()
    mine = [i for i in service.incidents() if i[0] == addr]
    assert len(mine) == 1 and reason in mine[0][1].lower(), mine


def test_a_permitted_path_of_a_limited_user_is_accepted(service: Service) -> None:
    answer = service.post("alpha-1", addr="10.1.1.1", auth=("limited", LIMITED_PASSWORD))
    assert answer.status_code == 200, answer.text


def test_repeated_failures_from_one_address_are_throttled(service: Service) -> None:
    statuses = [service.post(addr="10.2.0.1", auth=(HOOK_USER, f"guess{i}")).status_code
                for i in range(12)]
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
    # the right password does not help while the address is locked out
    locked = service.post(addr="10.2.0.1", auth=(HOOK_USER, HOOK_PASSWORD))
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert any("throttled" in i[1] for i in service.incidents() if i[0] == "10.2.0.1")
    # another address is not affected
    assert service.post(addr="10.2.0.2", auth=(HOOK_USER, HOOK_PASSWORD),
                        body=rc_body("t1", "ok")).status_code == 200


def test_debug_does_not_echo_another_users_stored_command(service: Service) -> None:
    first = service.post(addr="10.3.0.1", auth=(HOOK_USER, HOOK_PASSWORD),
                         body=rc_body("shared-id-1", "private words of the first user"))
    assert first.status_code == 200
    second = service.post(addr="10.3.0.2", auth=("other", OTHER_PASSWORD),
                          body=rc_body("shared-id-1", "something else"), debug="true")
    assert second.status_code == 200
    assert second.json().get("duplicate") is True
    assert "private words" not in second.text


def ui_login(service: Service) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{service.url}/ui/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, page[:500]
    answer = session.post(f"{service.url}/ui/login", data={
        "username": "admin", "password": ADMIN_PASSWORD, "csrf_token": token.group(1)},
        timeout=10)
    assert answer.status_code == 200 and "/ui/login" not in answer.url, answer.text[:300]
    return session


def test_ui_forms_are_csrf_protected(service: Service) -> None:
    session = ui_login(service)
    forged = session.post(f"{service.url}/ui/logout", timeout=10, allow_redirects=False)
    assert forged.status_code == 400
    elsewhere = requests.post(f"{service.url}/ui/notifications/1/retry",
                              cookies=session.cookies, data={"csrf_token": "x" * 43},
                              timeout=10, allow_redirects=False)
    assert elsewhere.status_code == 400
    assert session.get(f"{service.url}/ui/", timeout=10).status_code == 200  # still logged in


def test_a_deeply_nested_body_is_a_400_and_its_log_entry_still_opens(service: Service) -> None:
    """The request log keeps the body as sent; the UI detail page must not choke on it."""
    deep = "[" * 7000 + "]" * 7000
    answer = requests.post(f"{service.url}/api/v1/messages/webhook/deep", data=deep,
                           headers={"Content-Type": "application/json",
                                    "X-Forwarded-For": "10.5.0.1"},
                           auth=(HOOK_USER, HOOK_PASSWORD), timeout=10)
    assert answer.status_code == 400 and "nested" in answer.json()["error"]
    session = ui_login(service)

    def listed() -> list[str]:
        page = session.get(f"{service.url}/ui/webhooks", timeout=10).text
        return re.findall(r"/ui/webhooks/(\d+)", page)

    request_id = max(map(int, wait_until(listed, 10, "the request log")))
    detail = session.get(f"{service.url}/ui/webhooks/{request_id}", timeout=10)
    assert detail.status_code == 200
    dry = session.post(f"{service.url}/ui/rules/dry-run", timeout=10, data={
        "csrf_token": csrf_of(session, service), "command": deep, "source": "paste"})
    assert dry.status_code < 500


def csrf_of(session: requests.Session, service: Service) -> str:
    page = session.get(f"{service.url}/ui/rules", timeout=10).text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_no_secret_in_logs_store_ui_or_errors(service: Service) -> None:
    seen: list[str] = []
    # traffic carrying every secret where a careless service might keep it
    for i, secret in enumerate(SECRETS):
        for answer in (
            service.post(addr="10.4.0.1", auth=(HOOK_USER, HOOK_PASSWORD),
                         body=rc_body(f"s{i}", "hello"), token=secret, debug="true"),
            service.post(addr=f"10.4.1.{i}", auth=("nobody", secret)),
            service.post(secret, addr=f"10.4.2.{i}", auth=("limited", LIMITED_PASSWORD)),
            service.post(addr=f"10.4.3.{i}", auth=(HOOK_USER, HOOK_PASSWORD),
                         body=rc_body(f"w{i}", "x", token=secret + "-wrong")),
        ):
            seen.append(answer.text + str(answer.headers))
    session = ui_login(service)
    pages = ["/ui/", "/ui/webhooks", "/ui/incidents", "/ui/messages", "/ui/status",
             "/ui/alerts", "/ui/alerts/history", "/ui/windows", "/ui/notifications",
             "/ui/rules", "/ui/rules/export"]
    html = [session.get(service.url + page, timeout=10) for page in pages]
    assert all(p.status_code == 200 for p in html), [(p.url, p.status_code) for p in html]
    listing = html[1].text
    details = sorted(set(re.findall(r"/ui/webhooks/(\d+)", listing)))
    assert details
    for request_id in details:
        html.append(session.get(f"{service.url}/ui/webhooks/{request_id}", timeout=10))
    for api in ("/api/v1/messages/query?entity=*&limit=1000", "/api/v1/alerts"):
        html.append(session.get(service.url + api, auth=("admin", ADMIN_PASSWORD), timeout=10))
    service.process.terminate()
    with sqlite3.connect(service.db_file) as conn:
        dump = "\n".join(conn.iterdump())
    places = {"log": service.process.text(), "database": dump,
              "ui": "\n".join(p.text for p in html), "answers": "\n".join(seen)}
    assert "incident" in dump and "webhook" in places["ui"]
    leaks = {(where, secret) for where, text in places.items() for secret in SECRETS
             if secret in text}
    assert leaks == set()
