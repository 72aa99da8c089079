"""The ``atsd-bot`` command line: one module per group of sub-commands.

``serve`` runs the service, ``rules`` imports, exports, validates and dry-runs rules
(``rules_input`` reads its inputs). ``bot/__main__.py`` assembles the parser; modules load
lazily so that ``atsd-bot --help`` starts fast.
"""

__all__ = ["rules", "serve"]
