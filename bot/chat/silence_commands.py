"""Chat commands on silences: ``silence MATCHERS DURATION [COMMENT...]``, ``silences``,
``unsilence ID`` (spec: conversation, section 3).

Decisions:

- The arguments of ``silence`` are read left to right: matchers until the first word that
  is a duration or tries to be one, then the comment. A duration is one word (``2h``,
  ``1h30m``) or a number and a unit word (``2 hour``). A word like ``2y`` or ``2x`` (digits
  then letters) is a duration attempt: an unknown unit is a usage error naming it, never a
  rule matcher; a number followed by a word that is no unit (``2 parsecs``) likewise. A bare
  number is a usage error naming the syntax. ``1h 30m`` is not the syntax (write ``1h30m``)
  and is refused, rather than taking ``30m`` as the start of the comment. (A rule whose name
  looks like a duration, ``2fa``, is written ``rule=2fa``.)
- Comments and matchers are shown back in code spans (:mod:`rules.chat_text`): an
  ``@all`` in a comment (from chat, the web UI or the API) never notifies a room.
- A silence made in a room tells that room when it ends. ``unsilence`` run in that room
  answers with that note only, in the thread it was asked in: one message, not two.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.chat.commands import MAX_ANSWER, Answer, Kit, Refused, Request, Usage, code, parse_id
from rules.chat_text import code_span
from rules.command import format_iso_date
from rules.definitions.durations import (
    MAX_SILENCE,
    SYNTAX,
    DurationError,
    format_span,
    parse_span,
)
from rules.silences import MAX_COMMENT, Matcher, MatcherError, facts_of, matches_all, parse_words

_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_WORD = re.compile(r"^[A-Za-z]+$")
# digits then letters, repeated: 2h, 1h30m, 2y, 2hours, 1.5h: meant as a duration
_ATTEMPT = re.compile(r"^\d+(?:\.\d+)?[A-Za-z]+(?:\d+[A-Za-z]+)*$")


def split_silence(args: list[str]) -> tuple[list[Matcher], timedelta, str]:
    """``silence`` arguments as (matchers, duration, comment); :class:`Usage` naming what is
    wrong."""
    for index, word in enumerate(args):
        taken = _attempt_length(args, index)
        if not taken and _NUMBER.match(word):
            raise Usage(f"`{code(word, 20)}` has no unit: write {SYNTAX}")
        if not taken:
            continue
        duration, rest = " ".join(args[index:index + taken]), args[index + taken:]
        try:
            span = parse_span(duration, maximum=MAX_SILENCE)
        except DurationError as exc:
            raise Usage(str(exc)) from None
        second = _second_duration(rest)
        if second:
            raise Usage(f"write the duration as one word, like `1h30m`, not "
                        f"`{code(duration, 20)} {code(second, 20)}`; the comment follows it")
        try:
            matchers = parse_words(args[:index])
        except MatcherError as exc:
            raise Usage(str(exc)) from None
        return matchers, span, " ".join(rest).strip()
    if not args:
        raise Usage("give matchers and a duration")
    raise Usage(f"no duration: end the matchers with one, like {SYNTAX}")


def _attempt_length(words: list[str], index: int) -> int:
    """How many words from ``index`` try to be a duration: 1 (``2h``, ``2y``), 2 (``2 hour``,
    or ``2 parsecs`` for :func:`parse_span` to name the unknown unit), 0 when none does."""
    if _ATTEMPT.match(words[index]):
        return 1
    if _NUMBER.match(words[index]) and index + 1 < len(words) and _WORD.match(words[index + 1]):
        return 2
    return 0


def _second_duration(words: list[str]) -> str | None:
    """The duration the comment would start with (``30m`` of ``1h 30m``), or None."""
    taken = _attempt_length(words, 0) if words else 0
    if not taken:
        return None
    text = " ".join(words[:taken])
    try:
        parse_span(text)
    except DurationError:
        return None
    return text


def left(span: timedelta) -> str:
    """Time left, to the minute once it is more than ten minutes."""
    seconds = span.total_seconds()
    if seconds > 600:
        span = timedelta(minutes=round(seconds / 60))
    return format_span(span)


def silence(kit: Kit, request: Request) -> Answer:
    matchers, span, comment = split_silence(request.args)
    if len(comment) > MAX_COMMENT:
        raise Usage(f"the comment is longer than {MAX_COMMENT} characters")
    message = request.message
    made = kit.engine.create_silence(matchers, span, author=request.asker, comment=comment,
                                     room_id=message.room_id, tmid=message.tmid,
                                     conn=request.conn)
    covered = [a for a in kit.engine.open_alerts() if matches_all(matchers, facts_of(a))]
    ids = ", ".join(f"#{a.get('id')}" for a in covered[:10])
    plural = "s" if len(covered) != 1 else ""
    matching = (f"matches {len(covered)} open alert{plural} ({ids})" if covered
                else "matches no open alert now")
    about = f" ({code_span(comment, 120)})" if comment else ""
    return Answer(f"silence #{made.id}: {code_span(made.describe(), 200)}{about}, {matching}; "
                  f"until {format_iso_date(made.ends_at)} ({format_span(span)}). "
                  f"`unsilence {made.id}` ends it sooner.")


def list_silences(kit: Kit, request: Request) -> Answer:
    if request.args:
        raise Usage("`silences` takes no arguments")
    now = kit.clock.now()
    active = [s for s in kit.engine.list_silences(conn=request.conn) if s.active(now)]
    if not active:
        return Answer("No active silences.")
    lines = [f"{len(active)} active silence(s):"]
    for made in active[:30]:
        about = f" ({code_span(made.comment, 80)})" if made.comment else ""
        lines.append(f"• #{made.id} {code_span(made.describe(), 120)} by {made.author}{about}, "
                     f"expires {format_iso_date(made.ends_at)} "
                     f"(in {left(made.ends_at - now)})")
    return Answer("\n".join(lines)[:MAX_ANSWER])


def unsilence(kit: Kit, request: Request) -> Answer:
    if len(request.args) != 1:
        raise Usage("give exactly one silence id")
    silence_id = parse_id(request.args[0], "a silence")
    message = request.message
    ended, note = kit.engine.expire_silence(silence_id, by=request.asker, conn=request.conn,
                                            asked_in=(message.room_id, message.tmid))
    if ended is None:
        known = kit.engine.silence(silence_id, request.conn)
        if known is None:
            raise Refused(f"no silence #{silence_id}")
        raise Refused(f"silence #{silence_id} already ended {format_iso_date(known.ends_at)}")
    if note is not None and ended.room_id == message.room_id:
        return Answer(None)  # the end note, posted in this thread, is the answer
    where = " (its room is told)" if note is not None else ""
    return Answer(f"silence #{silence_id} ended{where}: {code_span(ended.describe(), 200)}")
