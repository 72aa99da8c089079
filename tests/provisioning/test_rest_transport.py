"""bot.rest.transport: the lean session sends what ``requests`` sends, and keeps its semantics."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import responses

from bot.rest.client import RestClient, RestUnavailable
from bot.rest.response import FastHeadersResponse
from bot.rest.session import keep_alive_session
from bot.rest.transport import JOIN_LIMIT, LeanHTTPConnection, LeanSession, lean_session

URL = "http://rc.test"
AUTH = {"X-User-Id": "uid1", "X-Auth-Token": "tok1"}


def _plain_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


CALLS: list[dict[str, Any]] = [
    {"method": "POST", "url": f"{URL}/api/v1/chat.sendMessage", "headers": AUTH,
     "json": {"message": {"rid": "r1", "msg": "héllo \u2603", "_id": "atsdbot0000000042"}}},
    {"method": "GET", "url": f"{URL}/api/v1/chat.getMessage?msgId=a%2Fb&x=1", "headers": AUTH},
    {"method": "GET", "url": f"{URL}/api/v1/some path/ü?q=a b", "headers": AUTH},
    {"method": "POST", "url": f"{URL}/api/v1/logout", "headers": {**AUTH, "Accept": None}},
    {"method": "PUT", "url": f"{URL}/api/v1/integrations.update",
     "headers": {"x-user-id": "other", "Content-Type": "application/json; charset=utf-8"},
     "json": [1, "two", None]},
    {"method": "DELETE", "url": f"{URL}/api/v1/emoji-custom.delete", "headers": None},
]


def _lean() -> LeanSession:
    session = lean_session(4, 4)
    session.trust_env = False  # as keep_alive_session makes it; else every call is requests'
    return session


@pytest.mark.parametrize("call", CALLS, ids=lambda c: f"{c['method']} {c['url'][22:44]}")
@responses.activate
def test_a_plain_call_sends_what_requests_sends(call: dict[str, Any],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    responses.add(responses.Response(call["method"], url=call["url"].split("?")[0],
                                     json={"success": True}))
    sent = []
    for session in (_plain_session(), _lean()):
        if isinstance(session, LeanSession):  # its own path, not requests' as a fallback
            monkeypatch.setattr(requests.Session, "request", None)
        answer = session.request(timeout=5, verify=True, cert=None, proxies=None, **call)
        assert answer.json() == {"success": True}
        request = responses.calls[-1].request
        sent.append((request.method, request.url, dict(request.headers), request.body,
                     responses.calls[-1].request.req_kwargs))
    assert sent[0] == sent[1]


@responses.activate
def test_nan_in_a_json_body_is_refused_as_requests_does() -> None:
    with pytest.raises(requests.exceptions.InvalidJSONError):
        _lean().post(f"{URL}/api/v1/x", json={"value": float("nan")})


@responses.activate
def test_cookies_a_server_sets_are_kept_and_sent_back() -> None:
    responses.post(f"{URL}/api/v1/a", json={}, headers={"Set-Cookie": "AWSALB=abc; Path=/"})
    responses.post(f"{URL}/api/v1/b", json={})
    session = _lean()
    assert session.post(f"{URL}/api/v1/a", json={}).cookies["AWSALB"] == "abc"
    session.post(f"{URL}/api/v1/b", json={})
    assert session.cookies["AWSALB"] == "abc"
    assert responses.calls[1].request.headers["Cookie"] == "AWSALB=abc"


@responses.activate
def test_a_redirect_is_followed_or_offered_as_requests_does() -> None:
    responses.get(f"{URL}/old", status=301, headers={"Location": f"{URL}/new"})
    responses.get(f"{URL}/new", json={"where": "new"})
    session = _lean()
    followed = session.get(f"{URL}/old")
    assert followed.json() == {"where": "new"}
    assert [r.status_code for r in followed.history] == [301]
    held = session.get(f"{URL}/old", allow_redirects=False)
    assert held.status_code == 301 and held.next is not None
    assert held.next.url == f"{URL}/new"


@responses.activate
def test_session_hooks_see_every_answer() -> None:
    responses.post(f"{URL}/api/v1/x", status=429, json={"success": False},
                   headers={"X-RateLimit-Reset": "1"})
    seen: list[int] = []
    session = _lean()
    session.hooks["response"].append(lambda r, *a, **k: seen.append(r.status_code))
    session.post(f"{URL}/api/v1/x", json={})
    assert seen == [429]


@responses.activate
def test_the_ca_bundle_and_the_proxy_from_the_environment_reach_every_library_call(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corp.pem")
    responses.post("https://chat.example.com/api/v1/chat.sendMessage",
                   json={"message": {"_id": "m1"}, "success": True})
    client = RestClient.with_token("https://chat.example.com", "uid1", "tok1")
    assert isinstance(client.session, LeanSession)
    client.chat_send_message({"rid": "r1", "msg": "x"})
    sent = responses.calls[0].request.req_kwargs
    # rocketchat_API passes verify= on every call; it must be the bundle, not True
    assert sent["verify"] == "/etc/ssl/corp.pem"
    assert sent["proxies"]["https"] == "http://proxy.corp:3128"


class _Recorder:
    """A socket stand-in that records what is written."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.sent.append(bytes(data))

    def settimeout(self, timeout: float | None) -> None:
        pass


def _written(body: bytes | None, method: str = "POST") -> list[bytes]:
    connection = LeanHTTPConnection("127.0.0.1", 9)
    recorder = _Recorder()
    connection.sock = recorder  # type: ignore[assignment]
    headers = {"Content-Type": "application/json"}
    if body is not None:
        headers["Content-Length"] = str(len(body))
    connection.request(method, "/api/v1/chat.sendMessage", body=body, headers=headers)
    return recorder.sent


def test_header_block_and_body_go_out_in_one_send() -> None:
    sent = _written(b'{"message": {}}')
    assert len(sent) == 1
    head, body = sent[0].split(b"\r\n\r\n", 1)
    assert head.startswith(b"POST /api/v1/chat.sendMessage HTTP/1.1\r\n")
    assert b"Content-Length: 15" in head and body == b'{"message": {}}'


def test_a_large_body_or_none_is_written_as_urllib3_does() -> None:
    big = b"x" * (JOIN_LIMIT + 1)
    assert _written(big)[1:] == [big]
    sent = _written(None, method="GET")
    assert len(sent) == 1 and sent[0].endswith(b"\r\n\r\n")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    peers: list[Any] = []
    stall = threading.Event()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.peers.append(self.client_address)
        if self.path.endswith("/slow"):
            self.stall.wait(10)
            return
        answer = json.dumps({"echo": json.loads(body), "success": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    _Handler.peers = []
    _Handler.stall = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        _Handler.stall.set()
        server.shutdown()
        server.server_close()


def test_calls_share_one_kept_alive_connection(http_server: str) -> None:
    session = keep_alive_session(http_server)
    for n in range(3):
        answer = session.post(http_server + "/api/v1/chat.sendMessage", json={"n": n},
                              timeout=5)
        assert answer.json()["echo"] == {"n": n}
        # the answer's headers were read by bot.rest.response, not the email parser
        assert isinstance(answer.raw._original_response, FastHeadersResponse)
        assert answer.headers["Content-Type"] == "application/json"
    assert len(set(_Handler.peers)) == 1


def test_a_server_that_does_not_answer_is_a_timeout(http_server: str) -> None:
    client = RestClient.with_token(http_server, "uid1", "tok1", timeout=0.2)
    with pytest.raises(RestUnavailable, match="did not answer within 0.2 s"):
        client._call("slow", lambda: client._api.call_api_post("slow", body={}))


def test_a_refused_connection_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = RestClient.with_token(f"http://127.0.0.1:{port}", "uid1", "tok1", timeout=1)
    with pytest.raises(RestUnavailable, match="cannot connect"):
        client.chat_send_message({"rid": "r1", "msg": "x"})
