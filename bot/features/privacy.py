"""A person's own data: /mydata sends all of it as a JSON file, /forget erases all of it
after a yes. Both walk the hooks every feature registered, so what one shows the other
deletes: each repository exports and erases its own rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.core import replies
from bot.core.dispatcher import Command, Registry, Turn
from bot.core.payloads import Press, encode
from bot.core.state import Conversation
from bot.core.types import Attachment, Button, Reply
from bot.i18n import N_

FORGET = "forget"  # press kind: forget:v1:yes | forget:v1:no


class PrivacyFeature:
    """/mydata and /forget."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.registry = Registry()

    def register(self, registry: Registry) -> None:
        """The two commands and the confirmation buttons."""
        self.registry = registry
        registry.command(Command("mydata", self.mydata, N_("get everything I keep about you")))
        registry.command(Command("forget", self.forget, N_("delete what I remember about you")))
        registry.press(FORGET, self.on_confirm)

    async def export(self, channel: str, user_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every row about the person, by table, each row once."""
        tables: dict[str, list[dict[str, Any]]] = {}
        for hook in self.registry.export_hooks:
            for table, rows in (await hook(channel, user_id)).items():
                kept = tables.setdefault(table, [])
                kept += [row for row in rows if row not in kept]
        return {table: rows for table, rows in tables.items() if rows}

    async def mydata(self, turn: Turn, args: str) -> list[Reply]:
        """The person's data as a JSON file."""
        msg, t = turn.msg, turn.t
        if msg.is_group:
            return [replies.private_only(turn.lang)]
        document = {
            "channel": msg.channel.value,
            "user_id": msg.user_id,
            "exported_at": self.clock().isoformat(timespec="seconds"),
            "tables": await self.export(msg.channel.value, msg.user_id),
        }
        content = json.dumps(document, ensure_ascii=False, indent=2, default=str).encode()
        text = t.gettext(
            "Here is everything I keep about you, as a file. /forget deletes all of it."
        )
        return [Reply(text, t.lang, attachment=Attachment("my-data.json", content,
                                                          "application/json"))]  # fmt: skip

    async def forget(self, turn: Turn, args: str) -> list[Reply]:
        """Ask first: erasing cannot be undone, and it cancels tour bookings."""
        t = turn.t
        if turn.msg.is_group:
            return [replies.private_only(turn.lang)]
        text = t.gettext(
            "This deletes everything I keep about you: your language, our conversation, your "
            "subscription, your tour bookings and your conversations with the staff. It "
            "cannot be undone. Delete it all?"
        )
        buttons = (Button(t.gettext("Yes, delete everything"), encode(FORGET, "yes")),
                   Button(t.gettext("No, keep it"), encode(FORGET, "no")))  # fmt: skip
        return [Reply(text, t.lang, buttons)]

    async def on_confirm(self, turn: Turn, press: Press) -> list[Reply]:
        """Yes erases in every feature; no keeps everything."""
        t = turn.t
        if press.arg(0) != "yes":
            return [Reply(t.gettext("Nothing was deleted."), t.lang)]
        for hook in self.registry.forget_hooks:
            await hook(turn.msg.channel.value, turn.msg.user_id)
        turn.state = Conversation("", "")  # nothing to save after this turn
        text = t.gettext(
            "Done: I no longer remember your language, our conversation or your subscription."
        )
        return [Reply(text, t.lang)]
