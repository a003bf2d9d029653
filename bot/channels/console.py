"""The console chat: no token, no network. Buttons become numbered lines."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TextIO

from bot.core.dispatcher import Dispatcher
from bot.core.types import Channel, Incoming, Reply
from bot.i18n import translator

CONSOLE_USER = "local"


def render_plain(reply: Reply) -> str:
    """A reply as plain text: its text, numbered choices and a map link."""
    lines = [reply.text]
    if reply.location:
        where = reply.location
        osm = f"https://www.openstreetmap.org/?mlat={where.lat}&mlon={where.lon}#map=16/{where.lat}/{where.lon}"
        lines += ["", f"📍 {where.title}: {where.address}", f"   {osm}"]
    if reply.buttons:
        lines.append("")
        lines += [f"  {i}. {button.label}" for i, button in enumerate(reply.buttons, start=1)]
    return "\n".join(lines)


async def chat(
    dispatcher: Dispatcher,
    lang: str | None = None,
    read: Callable[[], str] | None = None,
    out: TextIO = sys.stdout,
    offline_notice: bool = False,
) -> None:
    """Read questions line by line until end of input, printing each answer."""
    read = read or _read_line
    t = translator(lang or "en")
    if offline_notice:
        notice = t.gettext(
            "No Telegram token is configured, so this is the offline console chat. "
            "To go live, set TELEGRAM_TOKEN (see the README)."
        )
        print(notice, file=out)
    print(t.gettext("Type a question, /help for commands, or Ctrl-D to leave."), file=out)
    while True:
        try:
            line = await asyncio.to_thread(read)
        except (EOFError, KeyboardInterrupt):
            print(file=out)
            return
        message = Incoming(Channel.CONSOLE, CONSOLE_USER, CONSOLE_USER, line, locale_hint=lang)
        for reply in await dispatcher.handle(message):
            if reply.recipient is None:  # notices for other people are not ours to print
                print(render_plain(reply), end="\n\n", file=out, flush=True)


def _read_line() -> str:
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")
