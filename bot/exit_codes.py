"""The exit codes of every ``atsd-bot`` command and provisioning script: one meaning each.

=====  ==========================  ==============================================================
code   name                        meaning
=====  ==========================  ==============================================================
0      ``EXIT_OK``                 done
1      ``EXIT_INTERNAL``           a bug, or ``config check`` / ``rules validate`` found problems
2      ``EXIT_USAGE``              bad arguments, input or configuration: the line names the fix
3      ``EXIT_REJECTED``           Rocket.Chat refused (credentials, permission, validation)
4      ``EXIT_UNAVAILABLE``        Rocket.Chat (or atsd-bot, for ``check``) cannot be reached
5      ``EXIT_CONFLICT``           provisioning: the user or integration exists with other values
6      ``EXIT_NOT_SEEN``           ``setup check``: the test message never arrived
7      ``EXIT_ADDRESS``            ``serve``: the listen address is taken or does not resolve
8      ``EXIT_DATABASE``           the database cannot be reached or refuses the login
9      ``EXIT_LEASE_LOST``         ``serve``: another instance took the engine lease (fenced)
=====  ==========================  ==============================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_REJECTED = 3
EXIT_UNAVAILABLE = 4
EXIT_CONFLICT = 5
EXIT_NOT_SEEN = 6
EXIT_ADDRESS = 7
EXIT_DATABASE = 8
EXIT_LEASE_LOST = 9

__all__ = ["EXIT_ADDRESS", "EXIT_CONFLICT", "EXIT_DATABASE", "EXIT_INTERNAL", "EXIT_LEASE_LOST",
           "EXIT_NOT_SEEN", "EXIT_OK", "EXIT_REJECTED", "EXIT_UNAVAILABLE", "EXIT_USAGE"]
