"""The expression language of rule filters, conditions and ``${...}`` placeholders.

Compile once, evaluate many times::

    expr = compile_expression("tags.bot != 'true' AND source = 'rocket.chat'")
    expr.evaluate(Environment(fields={"source": "rocket.chat", "tags": {}}))  # True

Templates (notification texts with ``${...}`` and ``@if{...}``) compile with
:func:`compile_template`. Inside the package the stages import each other's modules, never
this package: :mod:`rules.expr.types` holds what they share.

Grammar: ``grammar.lark``; value semantics: :mod:`rules.expr.values`; operators:
:mod:`rules.expr.operators`; functions: :mod:`rules.expr.functions`. Keywords (AND, OR, NOT,
LIKE, IN, true, false, null) and function names are case-insensitive; field names are not.
Precedence, loosest first: ``?:``, ``OR``/``||``, ``AND``/``&&``, ``NOT``/``!``, comparisons
(``= == != <> < <= > >= LIKE IN``, not chainable), ``+ -``, ``* / %``, unary ``-``,
``.name`` / ``[index]``. ``/* comments */`` are allowed. Limits: 32 KB of text, nesting 64
deep, texts up to 1 MB and lists up to 10,000 elements at run time.
"""

from rules.expr.compiler import Expression, compile_expression
from rules.expr.errors import EvaluationError, ExpressionError
from rules.expr.functions import FUNCTION_NAMES
from rules.expr.template import Rendered, Template, compile_template
from rules.expr.types import Environment
from rules.expr.values import text as to_text
from rules.expr.values import truthy

__all__ = [
    "FUNCTION_NAMES",
    "Environment",
    "EvaluationError",
    "Expression",
    "ExpressionError",
    "Rendered",
    "Template",
    "compile_expression",
    "compile_template",
    "to_text",
    "truthy",
]
