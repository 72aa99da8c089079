"""Chat commands on silences: ``silence MATCHERS DURATION [COMMENT...]``, ``silences``,
``unsilence ID`` (spec: conversation, section 3).

Decisions:

- The arguments of ``silence`` are read left to right: matchers until the first word that
  is a duration (``2h``, ``1h30m``, or the two words ``2 hour``), then the comment. A bare
  number where the duration should be is a usage error naming the syntax.
- A silence made in a room (and thread) tells that room when it ends. ``unsilence`` run in
  that same room and thread answers with that note only: one message, not two.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.chat.commands import MAX_ANSWER, Answer, Kit, Refused, Request, Usage, code, parse_id
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
_UNIT_WORD = re.compile(r"^(?:s|sec|second|m|min|minute|h|hour|d|day|w|week)s?$", re.IGNORECASE)
_COMPACT = re.compile(r"^(?:\d{1,9}[wdhms])+$", re.IGNORECASE)


def split_silence(args: list[str]) -> tuple[list[Matcher], str, str]:
    """``silence`` arguments as (matchers, duration text, comment); :class:`Usage` naming
    what is wrong."""
    for index, word in enumerate(args):
        if _COMPACT.match(word):
            duration, rest = word, args[index + 1:]
        elif _NUMBER.match(word):
            if index + 1 < len(args) and _UNIT_WORD.match(args[index + 1]):
                duration, rest = f"{word} {args[index + 1]}", args[index + 2:]
            else:
                raise Usage(f"`{code(word, 20)}` has no unit: write {SYNTAX}")
        else:
            continue
        try:
            matchers = parse_words(args[:index])
        except MatcherError as exc:
            raise Usage(str(exc)) from None
        return matchers, duration, " ".join(rest).strip()
    if not args:
        raise Usage("give matchers and a duration")
    raise Usage(f"no duration: end the matchers with one, like {SYNTAX}")


def left(span: timedelta) -> str:
    """Time left, to the minute once it is more than ten minutes."""
    seconds = span.total_seconds()
    if seconds > 600:
        span = timedelta(minutes=round(seconds / 60))
    return format_span(span)


def silence(kit: Kit, request: Request) -> Answer:
    matchers, duration, comment = split_silence(request.args)
    try:
        span = parse_span(duration, maximum=MAX_SILENCE)
    except DurationError as exc:
        raise Usage(str(exc)) from None
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
    about = f" ({code(comment, 120)})" if comment else ""
    return Answer(f"silence #{made.id}: `{code(made.describe(), 200)}`{about}, {matching}; "
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
        about = f" ({code(made.comment, 80)})" if made.comment else ""
        lines.append(f"• #{made.id} `{code(made.describe(), 120)}` by {made.author}{about}, "
                     f"expires {format_iso_date(made.ends_at)} "
                     f"(in {left(made.ends_at - now)})")
    return Answer("\n".join(lines)[:MAX_ANSWER])


def unsilence(kit: Kit, request: Request) -> Answer:
    if len(request.args) != 1:
        raise Usage("give exactly one silence id")
    silence_id = parse_id(request.args[0], "a silence")
    ended, note = kit.engine.expire_silence(silence_id, by=request.asker, conn=request.conn)
    if ended is None:
        known = kit.engine.silence(silence_id, request.conn)
        if known is None:
            raise Refused(f"no silence #{silence_id}")
        raise Refused(f"silence #{silence_id} already ended {format_iso_date(known.ends_at)}")
    message = request.message
    if note is not None and ended.room_id == message.room_id and ended.tmid == message.tmid:
        return Answer(None)  # the end note, posted here, is the answer
    where = " (its room is told)" if note is not None else ""
    return Answer(f"silence #{silence_id} ended{where}: `{code(ended.describe(), 200)}`")
