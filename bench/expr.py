"""Speed of the expression language and templates (figures for the README, not a test).

Run: ``.venv/bin/python bench/expr.py``. Prints microseconds per evaluation of typical
filters and conditions, per template render, per compile; commands per second through 100
rule filters (most on other sources, as in a real rule set); and the pathological cases
(``*a*a*a*a*b`` LIKE and a polynomial regex on the largest text ``matches`` accepts).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rules.expr import Environment, compile_expression  # noqa: E402
from rules.expr.safe_regex import MAX_INPUT  # noqa: E402
from rules.expr.template import compile_template  # noqa: E402

FIELDS = {
    "entity": "rocketchat-bot", "type": "webhook", "source": "rocket.chat",
    "message": "deploy failed on web-01", "severity": "WARNING",
    "tags": {"user_name": "bob", "channel_id": "GENERAL", "code": "503", "bot": "false"},
}
ENV = Environment(fields=FIELDS, count=lambda: 3)

EXPRESSIONS = [
    "source = 'rocket.chat'",
    "tags.bot != 'true' AND source = 'rocket.chat'",
    "tags.code > 500",
    "message LIKE '*failed*'",
    "entity IN ('web-01', 'rocketchat-bot')",
    "upper(message) LIKE 'DEPLOY*' AND count() >= 2",
    "matches(message, '.*web-\\d+')",
    "tags.code >= 500 ? 'server' : 'client'",
]
TEMPLATE = 'User ${tags.alias}/@${tags.user_name} said "${message}"'


def per_call(fn: Callable[[], object], seconds: float = 0.5) -> float:
    """Microseconds of CPU per call, best of three runs of about ``seconds`` each.

    CPU time of this process, not wall time, so that other work on a shared machine
    inflates the figures less (caches and frequency still feel it: compare on a quiet one).
    """
    clock = time.process_time
    calls, start = 0, clock()
    while clock() - start < 0.05:
        fn()
        calls += 1
    batch = max(1, int(calls * seconds / 0.05 / 3))
    best = float("inf")
    for _ in range(3):
        start = clock()
        for _ in range(batch):
            fn()
        best = min(best, (clock() - start) / batch)
    return best * 1e6


def main() -> None:
    print(f"python {sys.version.split()[0]}")
    for text in EXPRESSIONS:
        expr = compile_expression(text)
        print(f"{per_call(partial(expr.evaluate, ENV)):7.2f} us  evaluate  {text}")
    template = compile_template(TEMPLATE)
    print(f"{per_call(lambda: template.render(ENV)):7.2f} us  render    {TEMPLATE}")
    fresh = iter(range(10**9))
    compile_us = per_call(lambda: compile_expression(f"a = {next(fresh)} AND b LIKE 'x*'"))
    print(f"{compile_us:7.0f} us  compile   a = N AND b LIKE 'x*' (uncached)")

    filters = [compile_expression(f"source = 'src-{i}' AND tags.code > 500") for i in range(99)]
    filters.append(compile_expression("tags.bot != 'true' AND source = 'rocket.chat'"))
    def all_filters() -> None:
        for f in filters:
            f.test(ENV)
    micros = per_call(all_filters)
    print(f"{1e6 / micros:9.0f} commands/s through 100 rule filters ({micros:.1f} us/command)")

    # The tail 'b' fails at once on 'aaaa...'; 'aaaa...ab' makes every segment search.
    env_long = Environment(fields={"message": "a" * 100_000, "hard": "a" * 99_999 + "cb"})
    for text in ("message LIKE '*a*a*a*a*b'", "hard LIKE '*a*a*a*c*b'",
                 "hard LIKE '*a?a*a*a*c?'", "hard LIKE '*x*b'"):
        like = compile_expression(text)
        print(f"{per_call(partial(like.evaluate, env_long), 0.2) / 1000:7.3f} ms  {text} "
              "(100,000 characters)")
    regex = compile_expression("matches(message, '.*a.*a.*b')")
    env_regex = Environment(fields={"message": "a" * MAX_INPUT})
    print(f"{per_call(lambda: regex.evaluate(env_regex), 0.2) / 1000:7.2f} ms  matches "
          f"'.*a.*a.*b' on {MAX_INPUT:,} characters (worst case the guards allow)")


if __name__ == "__main__":
    main()
