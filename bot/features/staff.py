"""Staff tools that belong to no other feature: reloading the knowledge base."""

from __future__ import annotations

from bot.core.dispatcher import Command, Registry, Turn
from bot.core.repositories import AuditLog
from bot.core.types import Reply
from bot.i18n import N_
from bot.knowledge.loader import KnowledgeError
from bot.knowledge.service import KnowledgeService


class StaffFeature:
    """/reload, for staff only."""

    def __init__(self, knowledge: KnowledgeService, audit: AuditLog | None = None) -> None:
        self.knowledge = knowledge
        self.audit = audit

    def register(self, registry: Registry) -> None:
        """The staff commands."""
        registry.command(
            Command("reload", self.reload, N_("reload the knowledge base"), staff_only=True)
        )

    async def reload(self, turn: Turn, args: str) -> list[Reply]:
        """Load knowledge/ again; on errors keep serving the old version and list them."""
        t = turn.t
        try:
            count = self.knowledge.reload()
        except KnowledgeError as exc:
            await self._record(turn, "reload-failed")
            head = t.gettext("The knowledge base has errors; I keep using the previous version:")
            return [Reply("\n".join([head, *map(str, exc.errors[:10])]), turn.lang)]
        text = t.ngettext(
            "Knowledge base reloaded: %(count)d topic.",
            "Knowledge base reloaded: %(count)d topics.",
            count,
        ) % {"count": count}
        await self._record(turn, "reload")
        return [Reply(text, turn.lang)]

    async def _record(self, turn: Turn, action: str) -> None:
        if self.audit is not None:
            await self.audit.record(f"{turn.msg.channel.value}:{turn.msg.user_id}", action)
