"""bot.config: every bad value is one ConfigError naming the key; overrides and defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import (
    ConfigError,
    Settings,
    apply_environment,
    build_settings,
    config_path,
    load_settings,
    read_config,
)

RC = {"url": "http://rc.example:3000/", "user_id": "u1", "token": "t-secret"}


@pytest.mark.parametrize("raw,message", [
    ({"bogus": {}}, "unknown section [bogus]; known: database, delivery, endpoints, http, "
                    "retention, rocketchat, rules, users, webhook"),
    ({"http": []}, "[http]: expected a table"),
    ({"http": {"zzz": 1}}, "http.zzz: unknown key; known: host, max_body_bytes, port, "
                           "public_url, secret_key, threads, trusted_proxies"),
    ({"http": {"secret_key": "short"}}, "http.secret_key: at least 16 characters; 'atsd-bot "
                                        "init' writes a random one, or leave it out to have one "
                                        "kept in the database"),
    ({"http": {"public_url": "atsd.example.com"}}, "http.public_url: expected the address "
                                                   "people reach the web UI at, e.g. "
                                                   "https://atsd-bot.example.com"),
    ({"retention": {"messages": "soon"}}, "retention.messages: invalid duration 'soon': write "
                                          "90s, 15m, 2h, 1h30m, 2d, 1w or '30 minute'; or "
                                          "\"forever\""),
    ({"retention": {"messages": "3600"}}, "retention.messages: a bare number ('3600') has no "
                                          "unit: write 90s, 15m, 2h, 1h30m, 2d, 1w or "
                                          "'30 minute'; or \"forever\""),
    ({"retention": {"alerts": 7200}}, "retention.alerts: a bare number (7200) has no unit: "
                                      "write 90s, 15m, 2h, 1h30m, 2d, 1w or '30 minute'; or "
                                      "\"forever\""),
    ({"retention": {"alerts": "5m"}}, "retention.alerts: '5m' is less than an hour; give a "
                                      "duration like \"30d\" or \"forever\""),
    ({"retention": {"logs": "1d"}}, "retention.logs: unknown key; known: alerts, messages, "
                                    "notifications, rule_errors, security_incidents, "
                                    "webhook_requests"),
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
    with pytest.raises(ConfigError, match=r"ATSD_BOT_RULES_PATHS \(rules.paths\): expected JSON"):
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


def test_a_string_key_stays_text_and_a_bad_number_names_the_variable() -> None:
    env = {"ATSD_BOT_ROCKETCHAT_URL": "http://rc:3000", "ATSD_BOT_ROCKETCHAT_USER": "007",
           "ATSD_BOT_ROCKETCHAT_PASSWORD": "123456", "ATSD_BOT_DELIVERY_BACKOFF_SECONDS": "2.5",
           "ATSD_BOT_ROCKETCHAT_REALTIME": "off", "ATSD_BOT_RULES_PATHS": "a, b"}
    settings = load_settings(None, environ=env)
    assert settings.rocketchat is not None
    assert (settings.rocketchat.user, settings.rocketchat.password) == ("007", "123456")
    assert settings.rocketchat.realtime is False and settings.delivery.backoff_seconds == 2.5
    assert settings.rules.paths == ("a", "b")
    for name, value, message in [
            ("ATSD_BOT_HTTP_PORT", "80a",
             "ATSD_BOT_HTTP_PORT (http.port): expected an integer, got '80a'"),
            ("ATSD_BOT_DATABASE_SINGLE_INSTANCE", "maybe",
             "ATSD_BOT_DATABASE_SINGLE_INSTANCE (database.single_instance): expected true or "
             "false, got 'maybe'"),
            ("ATSD_BOT_DELIVERY_BACKOFF_SECONDS", "1s",
             "ATSD_BOT_DELIVERY_BACKOFF_SECONDS (delivery.backoff_seconds): expected a number, "
             "got '1s'"),
            ("ATSD_BOT_WEBHOOK_TOKENS", "[]",
             "ATSD_BOT_WEBHOOK_TOKENS (webhook.tokens): expected a JSON object, got '[]'")]:
        with pytest.raises(ConfigError) as caught:
            load_settings(None, environ={name: value})
        assert str(caught.value) == message


def test_an_unknown_variable_is_a_warning_naming_it() -> None:
    loaded = read_config(None, environ={"ATSD_BOT_HTTP_PROT": "1", "ATSD_BOT_CONFIG": "x",
                                        "ATSD_BOT_PROVISION_SERVER": "y", "ATSD_BOT_X": "z"})
    assert [w.split(":")[0] for w in loaded.warnings] == ["ATSD_BOT_HTTP_PROT", "ATSD_BOT_X"]
    assert loaded.settings.http.port == 8088


def test_relative_paths_are_relative_to_the_file_not_the_working_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "etc"
    site.mkdir()
    path = site / "atsd-bot.toml"
    path.write_text('[database]\nurl = "sqlite:///data/atsd.db"\n[rules]\npaths = ["r"]\n')
    monkeypatch.chdir(tmp_path)
    settings = load_settings(path, environ={})
    assert settings.database.url == f"sqlite:///{site / 'data' / 'atsd.db'}"
    assert settings.base_dir == site and settings.rules.paths == ("r",)
    assert load_settings(None, environ={"ATSD_BOT_DATABASE_URL": "sqlite://"}
                         ).database.url == "sqlite://"


def test_config_path_prefers_the_option_then_the_environment() -> None:
    assert config_path("a.toml", {"ATSD_BOT_CONFIG": "b.toml"}) == Path("a.toml")
    assert config_path(None, {"ATSD_BOT_CONFIG": "b.toml"}) == Path("b.toml")
    assert config_path(None, {}) is None


def test_retention_defaults_and_forever() -> None:
    settings = build_settings({"retention": {"messages": "forever", "alerts": "365 day"}})
    assert settings.retention.messages == "forever"
    assert settings.retention.rule_errors == "30d"
    assert settings.http.secret_key is None and settings.http.public_url is None


def test_secrets_are_a_fresh_list_each_time() -> None:
    settings = build_settings({"users": [{"name": "u", "password": "user-secret"}]})
    first = settings.secrets()
    first.append("changed by a caller")
    assert settings.secrets() == ["user-secret"]
