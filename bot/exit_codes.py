"""The exit codes of every ``atsd-bot`` command and provisioning script: one meaning each.

=====  ==========================  ==============================================================
code   name                        meaning
=====  ==========================  ==============================================================
0      ``EXIT_OK``                 done
1      ``EXIT_FAILED``             problems found (``config check``, ``rules validate``), or an
                                   unexpected error (``--debug`` shows its traceback)
2      ``EXIT_USAGE``              bad arguments, input or configuration: the line names the fix
3      ``EXIT_REJECTED``           Rocket.Chat (or atsd-bot, for ``setup check``) refused
                                   (credentials, permission, validation)
4      ``EXIT_UNAVAILABLE``        Rocket.Chat (or atsd-bot, for ``setup check``) cannot be
                                   reached
5      ``EXIT_CONFLICT``           provisioning: the user or integration exists with other values
6      ``EXIT_NOT_SEEN``           ``setup check``: the test message never arrived
7      ``EXIT_ADDRESS``            ``serve``: the listen address is taken or does not resolve
8      ``EXIT_DATABASE``           the database cannot be used: unreachable, login refused, or a
                                   schema newer than this atsd-bot
9      ``EXIT_LEASE_LOST``         ``serve``: another instance took the engine lease (fenced)
10     ``EXIT_PATH``               a file or folder cannot be written or read (permissions, a
                                   parent that is not a folder)
130    ``EXIT_INTERRUPTED``        stopped by Ctrl-C before it finished
=====  ==========================  ==============================================================

``MEANINGS`` holds the same table for ``--help`` texts and the docs (docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Sequence

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERNAL = EXIT_FAILED  # the older name of code 1
EXIT_USAGE = 2
EXIT_REJECTED = 3
EXIT_UNAVAILABLE = 4
EXIT_CONFLICT = 5
EXIT_NOT_SEEN = 6
EXIT_ADDRESS = 7
EXIT_DATABASE = 8
EXIT_LEASE_LOST = 9
EXIT_PATH = 10
EXIT_INTERRUPTED = 130

MEANINGS: dict[int, str] = {
    EXIT_OK: "done",
    EXIT_FAILED: "problems found, or an unexpected error",
    EXIT_USAGE: "bad arguments, input or configuration (the line names the fix)",
    EXIT_REJECTED: "Rocket.Chat (or atsd-bot, for setup check) refused (credentials, "
                   "permission, validation)",
    EXIT_UNAVAILABLE: "Rocket.Chat (or atsd-bot, for setup check) cannot be reached",
    EXIT_CONFLICT: "the user or integration exists with other values",
    EXIT_NOT_SEEN: "the test message never arrived",
    EXIT_ADDRESS: "the listen address is taken or does not resolve",
    EXIT_DATABASE: "the database cannot be used (unreachable, login refused, newer schema)",
    EXIT_LEASE_LOST: "another instance took the engine lease",
    EXIT_PATH: "a file or folder cannot be written or read",
    EXIT_INTERRUPTED: "stopped by Ctrl-C",
}



def help_epilog(examples: Sequence[str], codes: Sequence[int]) -> str:
    """The end of a command's ``--help``: examples, then the exit codes it may end with."""
    lines = ["examples:", *(f"  {example}" for example in examples), "", "exit codes:"]
    lines += [f"  {code:<3} {MEANINGS[code]}" for code in codes]
    return "\n".join(lines)


__all__ = ["EXIT_ADDRESS", "EXIT_CONFLICT", "EXIT_DATABASE", "EXIT_FAILED", "EXIT_INTERNAL",
           "EXIT_INTERRUPTED", "EXIT_LEASE_LOST", "EXIT_NOT_SEEN", "EXIT_OK", "EXIT_PATH",
           "EXIT_REJECTED", "EXIT_UNAVAILABLE", "EXIT_USAGE", "MEANINGS", "help_epilog"]
