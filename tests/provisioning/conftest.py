"""Fixtures for the provisioning tests: the `responses` Rocket.Chat double and a script runner."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import responses
from werkzeug.security import generate_password_hash

from tests.provisioning.fakerc import ADMIN, URL, FakeRocketChat


@dataclass
class Call:
    method: str
    path: str  # with the query string
    body: Any
    headers: dict[str, str]


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def doc(self) -> dict[str, Any]:
        return json.loads(self.out)


@pytest.fixture
def rc() -> Iterator[tuple[FakeRocketChat, responses.RequestsMock]]:
    fake = FakeRocketChat()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.install(mock)
        yield fake, mock


def calls(mock: responses.RequestsMock) -> list[Call]:
    """Every request made so far, as (method, path?query, parsed JSON body, headers)."""
    found = []
    for call in mock.calls:
        request = call.request
        parts = urlsplit(str(request.url))
        body = json.loads(request.body) if request.body else None
        found.append(Call(str(request.method),
                          str(parts.path) + (f"?{parts.query!s}" if parts.query else ""),
                          body, dict(request.headers)))
    return found


def admin_args(*extra: str) -> list[str]:
    return ["--server", URL, "--admin-user", ADMIN["username"],
            "--admin-password", ADMIN["password"], *extra]


@pytest.fixture
def run_script(capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    def run(main: Callable[[Sequence[str]], int], argv: Sequence[str]) -> Outcome:
        code = main(list(argv))
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)
    return run


@pytest.fixture(autouse=True)
def cheap_password_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """The summary's password_hash with few rounds: the default scrypt costs ~0.4 s a run."""
    monkeypatch.setattr("scripts.create_outgoing_integration.generate_password_hash",
                        lambda password: generate_password_hash(password, "pbkdf2:sha256:1000"))
