"""Options, and the runtime (state, limits, fault switches) every part of the server shares."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from tests.rocketchat_server.ratelimit import REST_DEFAULT, RateLimiter, Rule
from tests.rocketchat_server.state import World

VERSION = "8.8.1"


@dataclass(frozen=True)
class SimulatorOptions:
    """Real Rocket.Chat defaults; tests override what they need to be fast.

    * `ping_interval` / `ping_timeout`: Meteor heartbeat (15 s / 15 s).
    * `retry_scale`: multiplies outgoing-webhook retry delays (1.0 = real: powers-of-ten is
      0.1 s, 1 s, 10 s, ...). 0.01 makes 10 s become 0.1 s.
    * `send_server_id`: send the bare `{"server_id":"0"}` greeting of old Meteor servers.
    * `rest_rate_limit`: the default REST limit (10 calls / 60 s per route+method+IP);
      None disables the REST limiter (like `API_Enable_Rate_Limiter=false`).
    * `enforce_password_fallback`: `Accounts_TwoFactorAuthentication_Enforce_Password_Fallback`.
    * `strict_script_result`: emulate current servers exactly when a prepare script returns
      no `headers` (they throw) and ignore `content`; the default is lenient (Meteor-HTTP era
      semantics: `content` is the body) so the seed's script works.
    * `webhook_bot_as_object`: send the raw `bot` object in webhook bodies (old JS handler)
      instead of `true` (TypeScript handler, 6.x+).
    * `webhook_timeout`: server-fetch's default 20 s.
    * `exact_edit_block_error`: past `Message_AllowEditing_BlockEditInMinutes`, answer what
      RC's updateMessage.ts throws (`error-message-editing-blocked` "Message editing is
      blocked") instead of the protocol reference's `error-action-not-allowed`.
    """

    host: str = "127.0.0.1"
    port: int = 0
    admin_user: str = "admin"
    admin_password: str = "admin"  # noqa: S105 - the documented test default
    ping_interval: float = 15.0
    ping_timeout: float = 15.0
    retry_scale: float = 1.0
    send_server_id: bool = False
    rest_rate_limit: tuple[int, float] | None = (REST_DEFAULT.calls, REST_DEFAULT.window_s)
    enforce_password_fallback: bool = True
    strict_script_result: bool = False
    webhook_bot_as_object: bool = False
    webhook_timeout: float = 20.0
    exact_edit_block_error: bool = False
    site_url: str | None = None
    state_file: str | None = None
    version: str = VERSION
    extra: dict[str, object] = field(default_factory=dict)


class Runtime:
    """What REST, DDP and the integrations engine share."""

    def __init__(self, options: SimulatorOptions) -> None:
        self.options = options
        self.world = World()
        default = options.rest_rate_limit
        self.limiter = RateLimiter(Rule(default[0], default[1]) if default else None)
        self.rest_down_until = 0.0
        self.paused_until = 0.0

    def rest_is_down(self) -> bool:
        return time.monotonic() < self.rest_down_until

    def pause_left(self) -> float:
        return max(0.0, self.paused_until - time.monotonic())
