"""Request-body schemas of the REST routes that Rocket.Chat validates with ajv.

Only what the simulator needs: required keys, `additionalProperties: false` and simple types.
Failures produce ajv's wording, e.g. `must have required property 'email' [invalid-params]`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.rocketchat_server.errors import invalid_params

Check = tuple[str, Callable[[Any], bool]]

STRING: Check = ("string", lambda v: isinstance(v, str))
BOOLEAN: Check = ("boolean", lambda v: isinstance(v, bool))
NUMBER: Check = ("number", lambda v: isinstance(v, int | float) and not isinstance(v, bool))
OBJECT: Check = ("object", lambda v: isinstance(v, dict))
ARRAY: Check = ("array", lambda v: isinstance(v, list))
STRINGS: Check = ("array", lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v))
STRING_OR_STRINGS: Check = ("string,array", lambda v: STRING[1](v) or STRINGS[1](v))


class Schema:
    def __init__(self, required: dict[str, Check], optional: dict[str, Check]) -> None:
        self.required = required
        self.optional = optional

    def validate(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid_params("must be object")
        for key in self.required:
            if key not in body:
                raise invalid_params(f"must have required property '{key}'")
        allowed = {**self.required, **self.optional}
        for key, value in body.items():
            if key not in allowed:
                raise invalid_params("must NOT have additional properties")
            type_name, ok = allowed[key]
            if not ok(value):
                raise invalid_params(f"/{key} must be {type_name}")
        return body


USERS_CREATE = Schema(
    {"email": STRING, "name": STRING, "password": STRING, "username": STRING},
    {
        "active": BOOLEAN,
        "bio": STRING,
        "nickname": STRING,
        "statusText": STRING,
        "roles": STRINGS,
        "joinDefaultChannels": BOOLEAN,
        "requirePasswordChange": BOOLEAN,
        "setRandomPassword": BOOLEAN,
        "sendWelcomeEmail": BOOLEAN,
        "verified": BOOLEAN,
        "customFields": OBJECT,
        "fields": STRING,
        "freeSwitchExtension": STRING,
    },
)

OUTGOING_INTEGRATION = Schema(
    {
        "type": STRING,
        "username": STRING,
        "channel": STRING,
        "event": STRING,
        "scriptEnabled": BOOLEAN,
        "name": STRING,
        "enabled": BOOLEAN,
    },
    {
        "targetRoom": STRING,
        "urls": STRINGS,
        "triggerWords": STRINGS,
        "triggerWordAnywhere": BOOLEAN,
        "token": STRING,
        "skipTranspile": BOOLEAN,
        "script": STRING,
        "runOnEdits": BOOLEAN,
        "retryFailedCalls": BOOLEAN,
        "retryCount": NUMBER,
        "retryDelay": STRING,
        "impersonateUser": BOOLEAN,
        "alias": STRING,
        "avatar": STRING,
        "emoji": STRING,
        "scriptEngine": STRING,
    },
)

INTEGRATION_UPDATE = Schema(
    dict(OUTGOING_INTEGRATION.required),
    {**OUTGOING_INTEGRATION.optional, "integrationId": STRING, "target_url": STRING},
)

CHAT_POST_MESSAGE = Schema(
    {},
    {
        "roomId": STRING_OR_STRINGS,
        "channel": STRING_OR_STRINGS,
        "text": STRING,
        "alias": STRING,
        "emoji": STRING,
        "avatar": STRING,
        "attachments": ARRAY,
        "customFields": OBJECT,
        "parseUrls": BOOLEAN,
        "tmid": STRING,
    },
)

SEND_MESSAGE_KEYS = frozenset(
    [
        "_id",
        "rid",
        "msg",
        "tmid",
        "tshow",
        "ts",
        "t",
        "bot",
        "content",
        "e2e",
        "e2eMentions",
        "customFields",
        "federation",
        "groupable",
        "sentByEmail",
    ]
)
REST_SEND_MESSAGE_KEYS = frozenset(
    [
        "_id",
        "rid",
        "msg",
        "tmid",
        "tshow",
        "alias",
        "emoji",
        "avatar",
        "attachments",
        "blocks",
        "customFields",
    ]
)

CHAT_UPDATE = Schema(
    {"roomId": STRING, "msgId": STRING, "text": STRING},
    {"previewUrls": STRINGS, "customFields": OBJECT},
)
