"""The HTTP adapter: the webhook receiver, the data and alerts APIs, ``/healthz`` and the web UI.

A webhook request becomes one ``MessageCommand`` handed to the ingestor (``rules.ingest``);
the APIs and pages read the store through ``rules.store``. The service builds an
:class:`AppContext` (settings, store, ingestor, the engine parts it runs) and calls
:func:`create_app`; the web UI is added with ``webhook.ui.install``. The settings types the
app reads are its own (:mod:`webhook.settings`); the service's configuration composes them.

Subpackages: ``api/`` (messages, alerts and rules APIs), ``ui/`` (the web UI).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from webhook.app import create_app
    from webhook.auth import Authenticator
    from webhook.context import AppContext
    from webhook.receiver import replay_request
    from webhook.settings import ROLES, AppSettings, HttpSettings, UserSettings, WebhookSettings

__all__ = ["ROLES", "AppContext", "AppSettings", "Authenticator", "HttpSettings",
           "UserSettings", "WebhookSettings", "create_app", "replay_request"]

# Where each public name lives. Loaded on first use: the service's configuration imports
# webhook.settings, and that must not pull Flask and the rule engine into every CLI command.
_HOMES = {
    "create_app": "webhook.app", "Authenticator": "webhook.auth",
    "AppContext": "webhook.context", "replay_request": "webhook.receiver",
    "ROLES": "webhook.settings", "AppSettings": "webhook.settings",
    "HttpSettings": "webhook.settings", "UserSettings": "webhook.settings",
    "WebhookSettings": "webhook.settings",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'webhook' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
