"""The seed rule's filter and template, end to end through the public interface."""

from rules.expr import Environment, compile_expression
from rules.template import compile_template


def test_seed_filter_and_template() -> None:
    expr = compile_expression("tags.bot != 'true' AND source = 'rocket.chat'")
    env = Environment(fields={"source": "rocket.chat", "message": "hi",
                              "tags": {"user_name": "bob"}})
    assert expr.evaluate(env) is True
    assert expr.fields == frozenset({"tags", "source"})
    rendered = compile_template('User ${tags.alias}/@${tags.user_name} said "${message}"').render(env)
    assert rendered.text == 'User /@bob said "hi"'
    assert rendered.errors == []
