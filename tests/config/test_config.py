"""bot.config: every bad value is one ConfigError naming the key; overrides and defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, Settings, apply_environment, build_settings, load_settings

RC = {"url": "http://rc.example:3000/", "user_id": "u1", "token": "t-secret"}


@pytest.mark.parametrize("raw,message", [
    ({"bogus": {}}, "unknown section [bogus]; known: database, delivery, endpoints, http, "
                    "rocketchat, rules, users, webhook"),
    ({"http": []}, "[http]: expected a table"),
    ({"http": {"zzz": 1}}, "http.zzz: unknown key; known: host, max_body_bytes, port, threads, "
                           "trusted_proxies"),
    ({"http": {"port": 70000}}, "http.port: 70000 is out of range 0-65535"),
    ({"http": {"port": True}}, "http.port: expected an integer, got True"),
    ({"http": {"host": ""}}, "http.host: expected a non-empty string, got ''"),
    ({"http": {"trusted_proxies": "10.0.0.0/8, x"}},
     "http.trusted_proxies: 'x' is not an IP address or network"),
    ({"database": {"url": "mysql://x"}}, "database.url: 'mysql' is not supported; use "
                                         "sqlite:///PATH or postgresql+psycopg://..."),
    ({"database": {"synchronous": "fast"}}, "database.synchronous: expected FULL, NORMAL or OFF"),
    ({"database": {"lease_ttl": 1}}, "database.lease_ttl: 1 is out of range 2-300"),
    ({"users": {}}, "users: expected an array of tables ([[users]])"),
    ({"users": [1]}, "users[0]: expected a table"),
    ({"users": [{"name": "a"}]}, "users[0] (a): give exactly one of password, password_hash"),
    ({"users": [{"name": "a", "password": "p", "roles": ["x"]}]},
     "users[0].roles: unknown role 'x'; known: webhook, api, admin"),
    ({"users": [{"name": "a", "password": "p"}, {"name": "a", "password_hash": "h"}]},
     "users[1].name: user 'a' is defined twice"),
    ({"webhook": {"tokens": {"a": ""}}},
     'webhook.tokens: expected a table of path = "non-empty token"'),
    ({"webhook": {"body_capture_bytes": -1}},
     "webhook.body_capture_bytes: -1 is out of range 0-16777216"),
    ({"rocketchat": {"url": "ftp://x"}},
     "rocketchat.url: expected http://HOST[:PORT] or https://..."),
    ({"rocketchat": {"url": "http://x", "user_id": "u"}},
     "rocketchat: user_id and token go together (a personal access token)"),
    ({"rocketchat": {"url": "http://x", "user": "u"}},
     "rocketchat: user and password go together"),
    ({"rocketchat": {"url": "http://x"}},
     "rocketchat: give user_id + token (preferred) or user + password"),
    ({"rocketchat": {**RC, "edits": "bad"}},
     "rocketchat.edits: 'bad' is not one of ignore, process"),
    ({"endpoints": {"e": []}}, "endpoints.e: expected a table"),
    ({"endpoints": {"e": {"kind": "http"}}},
     "endpoints.e.url: an http endpoint needs an http(s):// url"),
    ({"endpoints": {"e": {"kind": "rocketchat"}}},
     "endpoints.e: a rocketchat endpoint needs the [rocketchat] section"),
    ({"endpoints": {"e": {"kind": "log", "headers": []}}},
     "endpoints.e.headers: expected a table of strings"),
    ({"delivery": {"max_attempts": 0}}, "delivery.max_attempts: 0 is out of range 1-100"),
])
def test_a_bad_value_is_one_error_naming_the_key(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_settings(raw)
    assert str(caught.value) == message


def test_defaults_and_lists_given_as_text() -> None:
    settings = build_settings({
        "rocketchat": {**RC, "admins": "ann, bob"},
        "users": [{"name": "hook", "password": "pw", "entities": "a,b"}],
        "webhook": {"tokens": {"Rocket.Chat": "tok"}, "rocketchat_paths": "Rocket.Chat, X"},
        "rules": {"paths": "one, two"},
    }, base_dir=Path("/etc/atsd-bot"))
    assert settings.http.port == 8088 and settings.database.synchronous == "FULL"
    assert settings.rocketchat is not None and settings.rocketchat.url == "http://rc.example:3000"
    assert settings.rocketchat.admins == ("ann", "bob")
    assert settings.users[0].entities == ("a", "b") and settings.users[0].roles == ("webhook",)
    assert settings.webhook.tokens == {"rocket.chat": "tok"}
    assert settings.webhook.rocketchat_paths == ("rocket.chat", "x")
    assert settings.rules.paths == ("one", "two")
    assert set(settings.endpoints) == {"log", "rocketchat"}
    assert settings.base_dir == Path("/etc/atsd-bot")


def test_secrets_are_listed_and_never_in_repr() -> None:
    settings = build_settings({
        "rocketchat": RC, "users": [{"name": "hook", "password": "user-secret"}],
        "webhook": {"tokens": {"x": "hook-secret"}},
        "endpoints": {"pager": {"kind": "http", "url": "https://p", "headers": {"A": "h-secret"}}},
    })
    assert sorted(settings.secrets()) == ["h-secret", "hook-secret", "t-secret", "user-secret"]
    assert not any(secret in repr(settings) for secret in settings.secrets())


def test_environment_overrides_take_json_for_lists_and_tables() -> None:
    raw: dict[str, Any] = {"http": {"trusted_proxies": ["10.0.0.1"]}}
    apply_environment(raw, {"ATSD_BOT_HTTP_PORT": "9000", "ATSD_BOT_HTTP_TRUSTED_PROXIES":
                            '["10.0.0.2"]', "ATSD_BOT_DATABASE_SINGLE_INSTANCE": "TRUE",
                            "ATSD_BOT_PROVISION_SERVER": "ignored", "OTHER": "x"})
    assert raw == {"http": {"port": 9000, "trusted_proxies": ["10.0.0.2"]},
                   "database": {"single_instance": True}}
    with pytest.raises(ConfigError, match="ATSD_BOT_RULES_PATHS: expected JSON"):
        apply_environment({}, {"ATSD_BOT_RULES_PATHS": "[bad"})


def test_load_settings_reads_toml_relative_to_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "atsd-bot.toml"
    path.write_text('[http]\nport = 9001\n', encoding="utf-8")
    settings = load_settings(path, environ={"ATSD_BOT_HTTP_THREADS": "4"})
    assert isinstance(settings, Settings) and settings.base_dir == tmp_path
    assert (settings.http.port, settings.http.threads) == (9001, 4)
    path.write_text("[http\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, environ={})
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml", environ={})


@pytest.mark.parametrize("raw,key", [
    ({"endpoints": {"hook": {"kind": "http", "url": "http://x", "timeout": "soon"}}},
     "endpoints.hook.timeout"),
    ({"delivery": {"backoff_seconds": "1s"}}, "delivery.backoff_seconds"),
    ({"delivery": {"max_backoff_seconds": -1}}, "delivery.max_backoff_seconds"),
])
def test_non_numeric_durations_name_the_key(raw: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        build_settings(raw)
