"""Build :class:`bot.config.settings.Settings` from the raw TOML tables, section by section.

Each builder checks its section's keys (an unknown key is an error naming it, so a typo never
silently falls back to a default) and the values' types and ranges.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config.read import boolean, choice, integer, number, only, str_list, table, text
from bot.config.settings import (
    FOREVER,
    ROLES,
    DatabaseSettings,
    DeliverySettings,
    EndpointSettings,
    HttpSettings,
    RetentionSettings,
    RocketChatSettings,
    RulesSettings,
    Settings,
    UserSettings,
    WebhookSettings,
)
from bot.errors import ConfigError
from rules.definitions.durations import parse_duration


def build_settings(raw: Mapping[str, Any], *, base_dir: Path | None = None) -> Settings:
    """Settings from parsed TOML (after environment overrides); ``base_dir``: for rule paths."""
    known = {"http", "database", "users", "webhook", "rules", "rocketchat", "endpoints",
             "delivery", "retention"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"unknown section [{unknown[0]}]; known: {', '.join(sorted(known))}")
    rocketchat = _rocketchat(table(raw, "rocketchat")) if "rocketchat" in raw else None
    endpoints = _endpoints(table(raw, "endpoints"), rocketchat)
    base = base_dir or Path.cwd()
    return Settings(
        http=_http(table(raw, "http")),
        database=_database(table(raw, "database"), base),
        users=_users(raw.get("users", [])),
        webhook=_webhook(table(raw, "webhook")),
        rules=RulesSettings(paths=str_list(table(raw, "rules"), "rules.paths", "paths",
                                           ("rules.d",))),
        rocketchat=rocketchat,
        endpoints=endpoints,
        delivery=_delivery(table(raw, "delivery")),
        retention=_retention(table(raw, "retention")),
        base_dir=base,
    )


def _http(t: Mapping[str, Any]) -> HttpSettings:
    only(t, "http", {"host", "port", "max_body_bytes", "trusted_proxies", "threads",
                     "secret_key", "public_url"})
    proxies = str_list(t, "http.trusted_proxies", "trusted_proxies", ())
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigError(
                f"http.trusted_proxies: {proxy!r} is not an IP address or network"
            ) from None
    return HttpSettings(
        host=text(t, "http.host", "host", "127.0.0.1"),
        port=integer(t, "http.port", "port", 8088, 0, 65535),
        max_body_bytes=integer(t, "http.max_body_bytes", "max_body_bytes", 1048576, 1, 1 << 30),
        trusted_proxies=proxies,
        threads=integer(t, "http.threads", "threads", 8, 1, 256),
        secret_key=_secret_key(t),
        public_url=_public_url(t),
    )


def _secret_key(t: Mapping[str, Any]) -> str | None:
    if t.get("secret_key") is None:
        return None
    key = text(t, "http.secret_key", "secret_key", None)
    if len(key) < 16:
        raise ConfigError("http.secret_key: at least 16 characters; 'atsd-bot init' writes a "
                          "random one, or leave it out to have one kept in the database")
    return key


def _public_url(t: Mapping[str, Any]) -> str | None:
    if t.get("public_url") is None:
        return None
    url = text(t, "http.public_url", "public_url", None).rstrip("/")
    if not url.startswith(("http://", "https://")) or url.endswith("://"):
        raise ConfigError("http.public_url: expected the address people reach the web UI at, "
                          "e.g. https://atsd-bot.example.com")
    return url


def _database(t: Mapping[str, Any], base_dir: Path) -> DatabaseSettings:
    only(t, "database", {"url", "synchronous", "single_instance", "lease_ttl"})
    url = text(t, "database.url", "url", "sqlite:///var/atsd-bot.db")
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise ConfigError(f"database.url: {url.split(':')[0]!r} is not supported; "
                          "use sqlite:///PATH or postgresql+psycopg://...")
    url = _sqlite_beside(url, base_dir)
    sync = text(t, "database.synchronous", "synchronous", "FULL").upper()
    if sync not in ("FULL", "NORMAL", "OFF"):
        raise ConfigError("database.synchronous: expected FULL, NORMAL or OFF")
    return DatabaseSettings(
        url=url, synchronous=sync,
        single_instance=boolean(t, "database.single_instance", "single_instance", False),
        lease_ttl=integer(t, "database.lease_ttl", "lease_ttl", 10, 2, 300))


def _sqlite_beside(url: str, base_dir: Path) -> str:
    """A relative SQLite path is relative to the configuration file's folder, not the
    working folder (under systemd that would be ``/``)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"database.url: {url!r} is not a database URL; use sqlite:///PATH "
                          "or postgresql+psycopg://USER:PASSWORD@HOST/DB") from None
    path = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or path in ("", ":memory:") \
            or path.startswith("file:") or Path(path).is_absolute():
        return url
    return parsed.set(database=str(base_dir / path)).render_as_string(hide_password=False)


def _retention(t: Mapping[str, Any]) -> RetentionSettings:
    keys = {f.name: f.default for f in dataclasses.fields(RetentionSettings)}
    only(t, "retention", set(keys))
    values = {}
    for name, default in keys.items():
        value = t.get(name, default)
        if value != FOREVER:
            try:
                seconds = parse_duration(value)
            except ValueError as exc:
                raise ConfigError(f"retention.{name}: {exc}; or \"{FOREVER}\"") from None
            if seconds < 3600:
                raise ConfigError(f"retention.{name}: {value!r} is less than an hour; give a "
                                  f"duration like \"30d\" or \"{FOREVER}\"")
            value = str(value)
        values[name] = value
    return RetentionSettings(**values)


def retention_seconds(value: str) -> float | None:
    """Seconds of a validated [retention] value; None for ``forever``."""
    return None if value == FOREVER else parse_duration(value)


def _users(value: Any) -> tuple[UserSettings, ...]:
    if not isinstance(value, list):
        raise ConfigError("users: expected an array of tables ([[users]])")
    users: list[UserSettings] = []
    for index, entry in enumerate(value):
        user = _user(entry, f"users[{index}]")
        if any(u.name == user.name for u in users):
            raise ConfigError(f"users[{index}].name: user {user.name!r} is defined twice")
        users.append(user)
    return tuple(users)


def _user(entry: Any, where: str) -> UserSettings:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a table")
    only(entry, where, {"name", "password", "password_hash", "roles", "entities", "paths"})
    name = text(entry, f"{where}.name", "name", None)
    password = entry.get("password")
    password_hash = entry.get("password_hash")
    if bool(password) == bool(password_hash):
        raise ConfigError(f"{where} ({name}): give exactly one of password, password_hash")
    roles = str_list(entry, f"{where}.roles", "roles", ("webhook",))
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise ConfigError(f"{where}.roles: unknown role {bad[0]!r}; known: {', '.join(ROLES)}")
    return UserSettings(
        name=name, password=password or None, password_hash=password_hash or None,
        roles=roles, entities=str_list(entry, f"{where}.entities", "entities", ()),
        paths=str_list(entry, f"{where}.paths", "paths", ()),
    )


def _webhook(t: Mapping[str, Any]) -> WebhookSettings:
    only(t, "webhook", {"tokens", "rocketchat_paths", "request_log_size", "body_capture_bytes"})
    tokens = t.get("tokens", {})
    if not isinstance(tokens, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in tokens.items()
    ):
        raise ConfigError("webhook.tokens: expected a table of path = \"non-empty token\"")
    return WebhookSettings(
        tokens={k.lower(): v for k, v in tokens.items()},
        rocketchat_paths=tuple(p.lower() for p in str_list(
            t, "webhook.rocketchat_paths", "rocketchat_paths", ("rocket.chat",))),
        request_log_size=integer(t, "webhook.request_log_size", "request_log_size", 100, 1, 10**6),
        body_capture_bytes=integer(t, "webhook.body_capture_bytes", "body_capture_bytes",
                                   16384, 0, 1 << 24),
    )


def _rocketchat(t: Mapping[str, Any]) -> RocketChatSettings:
    only(t, "rocketchat", {"url", "user_id", "token", "user", "password", "realtime",
                           "ignore_bots", "edits", "channel_messages", "admins", "admin_roles",
                           "room_budget"})
    url = text(t, "rocketchat.url", "url", None).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError("rocketchat.url: expected http://HOST[:PORT] or https://...")
    settings = RocketChatSettings(
        url=url,
        user_id=t.get("user_id") or None,
        token=t.get("token") or None,
        user=t.get("user") or None,
        password=t.get("password") or None,
        realtime=boolean(t, "rocketchat.realtime", "realtime", True),
        ignore_bots=boolean(t, "rocketchat.ignore_bots", "ignore_bots", True),
        edits=choice(t, "rocketchat.edits", "edits", "ignore", ("ignore", "process")),
        channel_messages=choice(t, "rocketchat.channel_messages", "channel_messages",
                                "mention", ("mention", "all")),
        admins=str_list(t, "rocketchat.admins", "admins", ()),
        admin_roles=str_list(t, "rocketchat.admin_roles", "admin_roles", ("admin",)),
        room_budget=_room_budget(t),
    )
    if bool(settings.user_id) != bool(settings.token):
        raise ConfigError("rocketchat: user_id and token go together (a personal access token)")
    if bool(settings.user) != bool(settings.password):
        raise ConfigError("rocketchat: user and password go together")
    if not settings.token and not settings.password:
        raise ConfigError("rocketchat: give user_id + token (preferred) or user + password")
    return settings


def _room_budget(t: Mapping[str, Any]) -> str:
    value = text(t, "rocketchat.room_budget", "room_budget", "10/1m").strip()
    room_budget(value)  # refused here, at load, with the key's name
    return value


def room_budget(value: str) -> tuple[int, float]:
    """``10/1m``: (10, 60.0); ``0/1m`` turns the budget off."""
    count, slash, interval = value.partition("/")
    shape = ("expected COUNT/DURATION like \"10/1m\" (new alert messages per room within a "
             f"duration), got {value!r}")
    count = count.strip()
    if not slash or not (count.isascii() and count.isdigit()):
        raise ConfigError(f"rocketchat.room_budget: {shape}")
    try:
        seconds = parse_duration(interval.strip())
    except ValueError as exc:
        raise ConfigError(f"rocketchat.room_budget: {exc}; {shape}") from None
    if seconds <= 0:
        raise ConfigError(f"rocketchat.room_budget: the duration must be longer than 0; {shape}")
    return int(count), seconds


def _endpoints(t: Mapping[str, Any], rc: RocketChatSettings | None) -> dict[str, EndpointSettings]:
    # "log" always exists and "rocketchat" with a [rocketchat] section; a table may redefine them
    endpoints: dict[str, EndpointSettings] = {"log": EndpointSettings(name="log", kind="log")}
    if rc is not None:
        endpoints["rocketchat"] = EndpointSettings(name="rocketchat", kind="rocketchat")
    for name, entry in t.items():
        endpoints[name] = _endpoint(name, entry, rc)
    return endpoints


def _endpoint(name: str, entry: Any, rc: RocketChatSettings | None) -> EndpointSettings:
    where = f"endpoints.{name}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a table")
    only(entry, where, {"kind", "url", "room", "headers", "timeout"})
    kind = choice(entry, f"{where}.kind", "kind", None, ("rocketchat", "http", "log"))
    if kind == "http" and not str(entry.get("url", "")).startswith(("http://", "https://")):
        raise ConfigError(f"{where}.url: an http endpoint needs an http(s):// url")
    if kind == "rocketchat" and rc is None:
        raise ConfigError(f"{where}: a rocketchat endpoint needs the [rocketchat] section")
    headers = entry.get("headers", {})
    if not isinstance(headers, dict):
        raise ConfigError(f"{where}.headers: expected a table of strings")
    return EndpointSettings(
        name=name, kind=kind, url=entry.get("url"), room=entry.get("room"),
        headers={str(k): str(v) for k, v in headers.items()},
        timeout=number(entry, f"{where}.timeout", "timeout", 10.0, 0.1, 600.0),
    )


def _delivery(t: Mapping[str, Any]) -> DeliverySettings:
    only(t, "delivery", {"max_attempts", "backoff_seconds", "max_backoff_seconds"})
    return DeliverySettings(
        max_attempts=integer(t, "delivery.max_attempts", "max_attempts", 5, 1, 100),
        backoff_seconds=number(t, "delivery.backoff_seconds", "backoff_seconds", 1.0, 0.0, 3600.0),
        max_backoff_seconds=number(t, "delivery.max_backoff_seconds", "max_backoff_seconds",
                                   300.0, 0.0, 86400.0),
    )
