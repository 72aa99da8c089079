"""``atsd-bot demo`` (what ``make run`` does): the whole loop against the Rocket.Chat simulator.

Runs only in a checkout: the simulator is test code under ``tests/``, started as a child
process, never imported.
"""

from bot.demo.run import add_parser, run_demo

__all__ = ["add_parser", "run_demo"]
