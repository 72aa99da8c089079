"""Templates: placeholders, control flow, failures that stay visible, load-time errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rules.expr import Environment, ExpressionError
from rules.expr.template import MAX_OUTPUT, Rendered, compile_template
from tests.expr.helpers import command_fields, env

SEED = 'User ${tags.alias}/@${tags.user_name} said "${message}"'


def render(text: str, **overrides: object) -> Rendered:
    return compile_template(text).render(env(**overrides))


def test_seed_template() -> None:
    result = render(SEED, message="hello bot")
    assert result == Rendered('User /@bob said "hello bot"', [])
    fields = command_fields()
    fields["tags"] = {**fields["tags"], "alias": "Bobby"}
    assert compile_template(SEED).render(Environment(fields=fields)).text == \
        'User Bobby/@bob said "deploy failed on web-01"'


def test_template_keeps_its_text_and_fields() -> None:
    template = compile_template(SEED)
    assert template.text == SEED
    assert template.fields == frozenset({"tags", "message"})


@pytest.mark.parametrize(("text", "expected"), [
    ("plain text", "plain text"),
    ("", ""),
    ("${tags.missing}", ""),
    ("[${status}] ${rule} for ${entity} ${tags}",
     "[OPEN] seed for rocketchat-bot {bot=false;channel_id=GENERAL;code=503;empty=;"
     "odd-name=dash;user_name=bob}"),
    ("${open_time}", "2026-11-28T11:30:00.000Z"),
    ("${repeat_count + 1}", "3"),
    ("${7 / 2}", "3.5"),
    ("${1.0 * 4}", "4"),
    ("${true}/${false}/${null}", "true/false/"),
    ("${['a', 1]}", "[a, 1]"),
    ("${'}'}", "}"),  # a brace inside a string does not end the placeholder
    ("${\"a}b\" + '{'}", "a}b{"),
    ("cost: $5, mail me@host, @here", "cost: $5, mail me@host, @here"),
    ("$${not a placeholder}", "${not a placeholder}"),
    ("${upper(tags.user_name)}!", "BOB!"),
    ("${ date_format(open_time, 'HH:mm') }", "11:30"),
])
def test_placeholders(text: str, expected: str) -> None:
    result = render(text)
    assert result.errors == []
    assert result.text == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("@if{status = 'OPEN'}open@end{}", "open"),
    ("@if{status = 'CANCEL'}open@end{}", ""),
    ("@if{status = 'CANCEL'}a@else{}b@end{}", "b"),
    ("@if{false}a@else{severity = 'WARNING'}w@else{}c@end{}", "w"),  # ATSD's else-if
    ("@if{false}a@else if{true}b@else{}c@end{}", "b"),
    ("@if{false}a@else{false}b@else{}c@end{}", "c"),
    ("x@if{true}[@if{false}no@else{}yes@end{}]@end{}y", "x[yes]y"),
    ("@IF{true}a@Else{}b@END{}", "a"),  # tags ignore case, as keywords do
    ("@iffy{x} @endless", "@iffy{x} @endless"),  # other @ text is text
    ("@if{tags.bot}bot@else{}human@end{}", "human"),  # the text 'false' is false
    ("@if{tags.user_name}hi ${tags.user_name}@end{}", "hi bob"),
])
def test_control_flow(text: str, expected: str) -> None:
    result = render(text)
    assert result.errors == []
    assert result.text == expected


def test_tags_alone_on_their_lines_take_the_line() -> None:
    text = ("Alert ${rule}\n"
            "  @if{severity = 'WARNING'}\n"
            "  warning for ${entity}\n"
            "  @else{}\n"
            "  other\n"
            "  @end{}\n"
            "end")
    assert render(text).text == "Alert seed\n  warning for rocketchat-bot\nend"


def test_tags_within_a_line_keep_the_text_around_them() -> None:
    assert render("a @if{true} b @end{} c").text == "a  b  c"
    assert render("${rule} @if{true}\nx\n@end{}").text == "seed \nx\n"


def test_failing_placeholder_stays_as_written() -> None:
    result = render("n=${1 / (repeat_count - 2)} user=${tags.user_name}")
    assert result.text == "n=${1 / (repeat_count - 2)} user=bob"
    assert result.errors == [("1 / (repeat_count - 2)", "division by zero")]


def test_failing_condition_is_false_and_reported() -> None:
    result = render("@if{message > 5}big@else{}other@end{}")
    assert result.text == "other"
    assert len(result.errors) == 1
    assert result.errors[0][0] == "message > 5"
    assert "cannot compare" in result.errors[0][1]


def test_unrendered_branch_is_not_evaluated() -> None:
    result = render("@if{false}${1 / (repeat_count - 2)}@end{}")
    assert result == Rendered("", [])


def test_output_is_bounded() -> None:
    big = "x" * (MAX_OUTPUT // 2 + 10)
    result = render("${big}${big}${big}", big=big)
    assert len(result.text) == MAX_OUTPUT
    assert result.errors == [("", f"rendered text cut at {MAX_OUTPUT} characters")]


@pytest.mark.parametrize(("text", "reason", "line", "column"), [
    ("Hello ${tags.user_name", "missing '}' to close the placeholder", 1, 7),
    ("Hello ${}", "empty expression", 1, 9),
    ("Hello ${nofn(1)}", "unknown function 'nofn'", 1, 9),
    ("Hello ${a ==}", "unexpected end of expression", 1, 13),
    ("line one\nline ${two +}", "unexpected end of expression", 2, 13),
    ("@if{x = 1}a", "@if{ without @end{}", 1, 1),
    ("a\n  @if{x}\n@if{y}b@end{}", "@if{ without @end{}", 2, 3),
    ("a@else{}b", "@else without @if{", 1, 2),
    ("a@end{}", "@end{} without @if{", 1, 2),
    ("@if{1}a@else{}b@else{}c@end{}", "@else after the final @else{}", 1, 16),
    ("@if{nofn()}a@end{}", "unknown function 'nofn'", 1, 5),
    ("@if{true}a@else{bad(}b@end{}", "unexpected end of expression", 1, 21),
    ("@if{'unclosed}a@end{}", "missing '}' to close the tag", 1, 1),
])
def test_compile_errors_point_into_the_template(text: str, reason: str, line: int,
                                               column: int) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_template(text)
    error = info.value
    assert reason in error.reason
    assert (error.line, error.column) == (line, column)
    assert error.text == text


def test_block_nesting_is_bounded() -> None:
    assert render("@if{true}" * 32 + "x" + "@end{}" * 32).text == "x"
    with pytest.raises(ExpressionError, match="nested deeper than 32") as info:
        compile_template("@if{true}" * 5000 + "@end{}" * 5000)
    assert info.value.column == 32 * 9 + 1


def test_render_with_a_date_in_another_zone() -> None:
    moment = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    result = compile_template("${date_format(t, 'HH:mm', 'Asia/Tokyo')}").render(
        Environment(fields={"t": moment}))
    assert result.text == "21:00"


class _Failing(dict[str, object]):
    """Fields whose ``boom`` fails to compute, as a window field could."""

    def get(self, key: str, default: object = None) -> object:
        if key == "boom":
            raise ValueError("cannot compute boom")
        return super().get(key, default)


def test_a_plain_field_placeholder_that_fails_is_reported_like_any_expression() -> None:
    rendered = compile_template("a ${boom} b ${x} ${missing}").render(
        Environment(fields=_Failing(x=3)))
    assert rendered.text == "a ${boom} b 3 "
    assert [e for e, _ in rendered.errors] == ["boom"]
    assert "internal error" in rendered.errors[0][1]


def test_now_and_member_placeholders_are_evaluated_not_read_as_fields() -> None:
    moment = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    rendered = compile_template("${now} ${tags.k} ${ x }").render(
        Environment(fields={"tags": {"k": "v"}, "x": True}, now=moment))
    assert rendered.text == "2024-01-02T03:04:05.000Z v true"
