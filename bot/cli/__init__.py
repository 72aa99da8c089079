"""The ``atsd-bot`` command line: one module per group of sub-commands.

``init`` writes a configuration to start from (``template`` generates it), ``config`` checks
(``checks``) or shows it, ``serve`` runs the service, ``passwords`` makes a password_hash,
``prune`` applies retention, ``rules`` imports, exports, validates and dry-runs rules
(``rules_input`` reads its inputs), ``setup`` hands provisioning to the ``scripts/`` modules.
``common`` holds what they share: help layout, ``--config``, ``--debug``, one failure line.
``bot/__main__.py`` assembles the parser; modules load lazily so that ``atsd-bot --help``
starts fast.
"""

__all__ = ["checks", "common", "config", "init", "passwords", "prune", "rules", "rules_input",
           "serve", "setup", "template"]
