"""The service's configuration: settings types, reading TOML and the environment, validation.

``load_settings(path)`` reads the TOML file, applies ``ATSD_BOT_<SECTION>_<KEY>`` overrides
and validates every key, raising :class:`ConfigError` with one line naming the key. The
result is a frozen :class:`Settings`; its ``[http]``, ``[[users]]`` and ``[webhook]`` parts are
the webhook app's own types (``webhook.settings``), composed here. ``schema`` gives each key's
declared type (for the environment), ``show`` the effective values with their sources.
"""

from bot.config import load
from bot.config.load import *  # noqa: F403  (the public names, listed once: load.__all__)

__all__ = list(load.__all__)
