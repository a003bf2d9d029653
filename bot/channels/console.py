"""The console chat: no token, no network. Buttons become numbered lines; files sent to
the person are written to a folder and their path printed."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from bot.core.delivery import SENT, SendResult
from bot.core.types import Channel, Incoming, Reply
from bot.i18n import translator

CONSOLE_USER = "local"
Handle = Callable[[Incoming], Awaitable[list[Reply]]]
Delivered = Callable[[list[Reply]], Awaitable[None]]


def render_plain(reply: Reply, saved_to: Path | None = None) -> str:
    """A reply as plain text: its text, a map link, the file's path, numbered choices."""
    lines = [reply.text]
    if reply.location:
        where = reply.location
        osm = f"https://www.openstreetmap.org/?mlat={where.lat}&mlon={where.lon}#map=16/{where.lat}/{where.lon}"
        lines += ["", f"📍 {where.title}: {where.address}", f"   {osm}"]
    if reply.attachment and saved_to:
        lines += ["", f"📎 {saved_to}"]
    if reply.buttons:
        lines.append("")
        lines += [f"  {i}. {button.label}" for i, button in enumerate(reply.buttons, start=1)]
    return "\n".join(lines)


class ConsoleOutput:
    """Prints replies and writes their files; also the outbox's Sender for the console."""

    channel = Channel.CONSOLE

    def __init__(self, out: TextIO, exports_dir: Path, user: str = CONSOLE_USER) -> None:
        self.out = out
        self.exports_dir = exports_dir
        self.user = user

    def show(self, reply: Reply) -> None:
        """Print one reply, writing its file first."""
        saved = self._save(reply)
        print(render_plain(reply, saved), end="\n\n", file=self.out, flush=True)

    async def send(self, chat_id: str, reply: Reply) -> SendResult:
        """A message from the outbox (a reminder, a promotion) for the person at the console."""
        if chat_id == self.user:
            self.show(reply)
        return SENT  # other console users are people this terminal plays no more

    def _save(self, reply: Reply) -> Path | None:
        if reply.attachment is None:
            return None
        self.exports_dir.mkdir(parents=True, exist_ok=True)
        path = self.exports_dir / _safe_name(reply.attachment.filename)
        path.write_bytes(reply.attachment.content)
        return path


def _safe_name(filename: str) -> str:
    """A file name that stays inside the exports folder."""
    return re.sub(r"[^\w.-]", "_", Path(filename).name)[:100] or "file"


async def chat(
    handle: Handle,
    output: ConsoleOutput,
    lang: str | None = None,
    read: Callable[[], str] | None = None,
    offline_notice: bool = False,
    delivered: Delivered | None = None,
) -> None:
    """Read questions line by line until end of input, printing each answer."""
    read = read or _read_line
    t = translator(lang or "en")
    if offline_notice:
        notice = t.gettext(
            "No Telegram token is configured, so this is the offline console chat. "
            "To go live, set TELEGRAM_TOKEN (see the README)."
        )
        print(notice, file=output.out)
    print(t.gettext("Type a question, /help for commands, or Ctrl-D to leave."), file=output.out)
    while True:
        try:
            line = await asyncio.to_thread(read)
        except (EOFError, KeyboardInterrupt):
            print(file=output.out)
            return
        message = Incoming(Channel.CONSOLE, output.user, output.user, line, locale_hint=lang)
        replies = await handle(message)
        for reply in replies:
            output.show(reply)
        if delivered is not None:
            await delivered(replies)


def _read_line() -> str:
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")
