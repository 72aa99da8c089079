"""Load the TOML configuration, apply ``ATSD_BOT_<SECTION>_<KEY>`` overrides, validate.

Every problem is a :class:`ConfigError` whose text names the key and what is wrong with it, so
that ``atsd-bot serve`` can refuse to start with one clear line.
"""

from __future__ import annotations

import ipaddress
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import ConfigError

ENV_PREFIX = "ATSD_BOT_"
ROLES = ("webhook", "api", "admin")


@dataclass(frozen=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8088
    max_body_bytes: int = 1048576
    trusted_proxies: tuple[str, ...] = ()
    threads: int = 8


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///var/atsd-bot.db"
    # SQLite only: FULL survives a power cut, NORMAL a process crash.
    synchronous: str = "FULL"
    # PostgreSQL: instances sharing the database elect the engine runner through a lease
    # (bot/instances.py); single_instance = true skips the lease altogether.
    single_instance: bool = False
    lease_ttl: int = 10  # seconds; a dead holder is replaced within about this long


@dataclass(frozen=True)
class UserSettings:
    name: str
    password: str | None = field(default=None, repr=False)
    password_hash: str | None = field(default=None, repr=False)
    roles: tuple[str, ...] = ("webhook",)
    # optional limits: entity names/patterns and webhook paths this user may write
    entities: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebhookSettings:
    tokens: Mapping[str, str] = field(default_factory=dict, repr=False)
    # webhook paths (after /webhook/) whose bodies are Rocket.Chat outgoing-webhook payloads
    rocketchat_paths: tuple[str, ...] = ("rocket.chat",)
    request_log_size: int = 100
    body_capture_bytes: int = 16384


@dataclass(frozen=True)
class RulesSettings:
    paths: tuple[str, ...] = ("rules.d",)


@dataclass(frozen=True)
class RocketChatSettings:
    url: str
    user_id: str | None = None
    token: str | None = field(default=None, repr=False)
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    realtime: bool = True
    ignore_bots: bool = True  # drop messages with ``bot`` set (integrations, other bots)
    edits: str = "ignore"  # ignore | process
    # channels: "mention" (only messages that mention the bot) or "all"; DMs are always heard
    channel_messages: str = "mention"
    admins: tuple[str, ...] = ()  # usernames allowed to run state-changing chat commands
    admin_roles: tuple[str, ...] = ("admin",)


@dataclass(frozen=True)
class EndpointSettings:
    name: str
    kind: str  # rocketchat | http | log
    url: str | None = None
    room: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout: float = 10.0


@dataclass(frozen=True)
class DeliverySettings:
    max_attempts: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 300.0


@dataclass(frozen=True)
class Settings:
    http: HttpSettings = field(default_factory=HttpSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    users: tuple[UserSettings, ...] = ()
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    rules: RulesSettings = field(default_factory=RulesSettings)
    rocketchat: RocketChatSettings | None = None
    endpoints: Mapping[str, EndpointSettings] = field(default_factory=dict)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    base_dir: Path = field(default_factory=Path.cwd)

    def secrets(self) -> list[str]:
        """Every secret value in the configuration (for redaction and for tests that grep)."""
        found = [u.password for u in self.users if u.password]
        found += list(self.webhook.tokens.values())
        if self.rocketchat is not None:
            found += [s for s in (self.rocketchat.token, self.rocketchat.password) if s]
        for endpoint in self.endpoints.values():
            found += list(endpoint.headers.values())
        return [s for s in found if s]


def load_settings(path: str | Path | None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (may be None: defaults plus environment) and validate everything."""
    raw: dict[str, Any] = {}
    base_dir = Path.cwd()
    if path is not None:
        file = Path(path)
        base_dir = file.resolve().parent
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"configuration file {file} not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    apply_environment(raw, os.environ if environ is None else environ)
    return build_settings(raw, base_dir=base_dir)


def apply_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    """``ATSD_BOT_HTTP_PORT=9000`` sets ``[http] port``; lists and tables take JSON."""
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name.startswith(ENV_PREFIX + "PROVISION_"):
            continue
        section, _, key = name[len(ENV_PREFIX):].lower().partition("_")
        if not key:
            continue
        table = raw.setdefault(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{name}: [{section}] is not a table")
        table[key] = _env_value(name, value, table.get(key))


def _env_value(name: str, value: str, current: Any) -> Any:
    stripped = value.strip()
    if isinstance(current, (list, dict)) or stripped[:1] in ("[", "{"):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{name}: expected JSON ({exc})") from None
    if stripped.lower() in ("true", "false"):
        return stripped.lower() == "true"
    if stripped.lstrip("-").isdigit():
        return int(stripped)
    return value


def build_settings(raw: Mapping[str, Any], *, base_dir: Path | None = None) -> Settings:
    known = {"http", "database", "users", "webhook", "rules", "rocketchat", "endpoints",
             "delivery"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"unknown section [{unknown[0]}]; known: {', '.join(sorted(known))}")
    rocketchat = _rocketchat(_table(raw, "rocketchat")) if "rocketchat" in raw else None
    endpoints = _endpoints(_table(raw, "endpoints"), rocketchat)
    return Settings(
        http=_http(_table(raw, "http")),
        database=_database(_table(raw, "database")),
        users=_users(raw.get("users", [])),
        webhook=_webhook(_table(raw, "webhook")),
        rules=RulesSettings(paths=_str_list(_table(raw, "rules"), "rules.paths", "paths",
                                            ("rules.d",))),
        rocketchat=rocketchat,
        endpoints=endpoints,
        delivery=_delivery(_table(raw, "delivery")),
        base_dir=base_dir or Path.cwd(),
    )


# -- sections ---------------------------------------------------------------------------


def _http(t: Mapping[str, Any]) -> HttpSettings:
    _only(t, "http", {"host", "port", "max_body_bytes", "trusted_proxies", "threads"})
    proxies = _str_list(t, "http.trusted_proxies", "trusted_proxies", ())
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigError(
                f"http.trusted_proxies: {proxy!r} is not an IP address or network"
            ) from None
    return HttpSettings(
        host=_str(t, "http.host", "host", "127.0.0.1"),
        port=_int(t, "http.port", "port", 8088, 0, 65535),
        max_body_bytes=_int(t, "http.max_body_bytes", "max_body_bytes", 1048576, 1, 1 << 30),
        trusted_proxies=proxies,
        threads=_int(t, "http.threads", "threads", 8, 1, 256),
    )


def _database(t: Mapping[str, Any]) -> DatabaseSettings:
    _only(t, "database", {"url", "synchronous", "single_instance", "lease_ttl"})
    url = _str(t, "database.url", "url", "sqlite:///var/atsd-bot.db")
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise ConfigError(f"database.url: {url.split(':')[0]!r} is not supported; "
                          "use sqlite:///PATH or postgresql+psycopg://...")
    sync = _str(t, "database.synchronous", "synchronous", "FULL").upper()
    if sync not in ("FULL", "NORMAL", "OFF"):
        raise ConfigError("database.synchronous: expected FULL, NORMAL or OFF")
    return DatabaseSettings(
        url=url, synchronous=sync,
        single_instance=_bool(t, "database.single_instance", "single_instance", False),
        lease_ttl=_int(t, "database.lease_ttl", "lease_ttl", 10, 2, 300))


def _users(value: Any) -> tuple[UserSettings, ...]:
    if not isinstance(value, list):
        raise ConfigError("users: expected an array of tables ([[users]])")
    users: list[UserSettings] = []
    for index, entry in enumerate(value):
        where = f"users[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a table")
        _only(entry, where, {"name", "password", "password_hash", "roles", "entities", "paths"})
        name = _str(entry, f"{where}.name", "name", None)
        password = entry.get("password")
        password_hash = entry.get("password_hash")
        if bool(password) == bool(password_hash):
            raise ConfigError(f"{where} ({name}): give exactly one of password, password_hash")
        roles = _str_list(entry, f"{where}.roles", "roles", ("webhook",))
        bad = [r for r in roles if r not in ROLES]
        if bad:
            raise ConfigError(f"{where}.roles: unknown role {bad[0]!r}; known: {', '.join(ROLES)}")
        if any(u.name == name for u in users):
            raise ConfigError(f"{where}.name: user {name!r} is defined twice")
        users.append(UserSettings(
            name=name, password=password or None, password_hash=password_hash or None,
            roles=roles, entities=_str_list(entry, f"{where}.entities", "entities", ()),
            paths=_str_list(entry, f"{where}.paths", "paths", ()),
        ))
    return tuple(users)


def _webhook(t: Mapping[str, Any]) -> WebhookSettings:
    _only(t, "webhook", {"tokens", "rocketchat_paths", "request_log_size", "body_capture_bytes"})
    tokens = t.get("tokens", {})
    if not isinstance(tokens, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in tokens.items()
    ):
        raise ConfigError("webhook.tokens: expected a table of path = \"non-empty token\"")
    return WebhookSettings(
        tokens={k.lower(): v for k, v in tokens.items()},
        rocketchat_paths=tuple(p.lower() for p in _str_list(
            t, "webhook.rocketchat_paths", "rocketchat_paths", ("rocket.chat",))),
        request_log_size=_int(t, "webhook.request_log_size", "request_log_size", 100, 1, 10**6),
        body_capture_bytes=_int(t, "webhook.body_capture_bytes", "body_capture_bytes", 16384,
                                0, 1 << 24),
    )


def _rocketchat(t: Mapping[str, Any]) -> RocketChatSettings:
    _only(t, "rocketchat", {"url", "user_id", "token", "user", "password", "realtime",
                            "ignore_bots", "edits", "channel_messages", "admins", "admin_roles"})
    url = _str(t, "rocketchat.url", "url", None).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError("rocketchat.url: expected http://HOST[:PORT] or https://...")
    settings = RocketChatSettings(
        url=url,
        user_id=t.get("user_id") or None,
        token=t.get("token") or None,
        user=t.get("user") or None,
        password=t.get("password") or None,
        realtime=_bool(t, "rocketchat.realtime", "realtime", True),
        ignore_bots=_bool(t, "rocketchat.ignore_bots", "ignore_bots", True),
        edits=_choice(t, "rocketchat.edits", "edits", "ignore", ("ignore", "process")),
        channel_messages=_choice(t, "rocketchat.channel_messages", "channel_messages",
                                 "mention", ("mention", "all")),
        admins=_str_list(t, "rocketchat.admins", "admins", ()),
        admin_roles=_str_list(t, "rocketchat.admin_roles", "admin_roles", ("admin",)),
    )
    if bool(settings.user_id) != bool(settings.token):
        raise ConfigError("rocketchat: user_id and token go together (a personal access token)")
    if bool(settings.user) != bool(settings.password):
        raise ConfigError("rocketchat: user and password go together")
    if not settings.token and not settings.password:
        raise ConfigError("rocketchat: give user_id + token (preferred) or user + password")
    return settings


def _endpoints(t: Mapping[str, Any], rc: RocketChatSettings | None) -> dict[str, EndpointSettings]:
    endpoints: dict[str, EndpointSettings] = {"log": EndpointSettings(name="log", kind="log")}
    if rc is not None:
        endpoints["rocketchat"] = EndpointSettings(name="rocketchat", kind="rocketchat")
    for name, entry in t.items():
        where = f"endpoints.{name}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a table")
        _only(entry, where, {"kind", "url", "room", "headers", "timeout"})
        kind = _choice(entry, f"{where}.kind", "kind", None, ("rocketchat", "http", "log"))
        if kind == "http" and not str(entry.get("url", "")).startswith(("http://", "https://")):
            raise ConfigError(f"{where}.url: an http endpoint needs an http(s):// url")
        if kind == "rocketchat" and rc is None:
            raise ConfigError(f"{where}: a rocketchat endpoint needs the [rocketchat] section")
        headers = entry.get("headers", {})
        if not isinstance(headers, dict):
            raise ConfigError(f"{where}.headers: expected a table of strings")
        endpoints[name] = EndpointSettings(
            name=name, kind=kind, url=entry.get("url"), room=entry.get("room"),
            headers={str(k): str(v) for k, v in headers.items()},
            timeout=float(entry.get("timeout", 10.0)),
        )
    return endpoints


def _delivery(t: Mapping[str, Any]) -> DeliverySettings:
    _only(t, "delivery", {"max_attempts", "backoff_seconds", "max_backoff_seconds"})
    return DeliverySettings(
        max_attempts=_int(t, "delivery.max_attempts", "max_attempts", 5, 1, 100),
        backoff_seconds=float(t.get("backoff_seconds", 1.0)),
        max_backoff_seconds=float(t.get("max_backoff_seconds", 300.0)),
    )


# -- typed readers ----------------------------------------------------------------------


def _table(raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}]: expected a table")
    return value


def _only(t: Mapping[str, Any], where: str, allowed: set[str]) -> None:
    unknown = sorted(set(t) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]}: unknown key; known: {', '.join(sorted(allowed))}"
        )


def _str(t: Mapping[str, Any], key: str, name: str, default: str | None) -> str:
    value = t.get(name, default)
    if value is None:
        raise ConfigError(f"{key}: required")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}: expected a non-empty string, got {value!r}")
    return value


def _int(t: Mapping[str, Any], key: str, name: str, default: int, low: int, high: int) -> int:
    value = t.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{key}: {value} is out of range {low}-{high}")
    return value


def _bool(t: Mapping[str, Any], key: str, name: str, default: bool) -> bool:
    value = t.get(name, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    return value


def _choice(t: Mapping[str, Any], key: str, name: str, default: str | None,
            choices: tuple[str, ...]) -> str:
    value = _str(t, key, name, default)
    if value not in choices:
        raise ConfigError(f"{key}: {value!r} is not one of {', '.join(choices)}")
    return value


def _str_list(t: Mapping[str, Any], key: str, name: str,
              default: tuple[str, ...]) -> tuple[str, ...]:
    value = t.get(name, list(default))
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
    return tuple(value)
