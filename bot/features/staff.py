"""Staff tools that belong to no other feature: reloading the knowledge base."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.core.dispatcher import Command, Registry, Turn
from bot.core.repositories import AuditLog
from bot.core.types import Reply
from bot.i18n import N_, Translator
from bot.knowledge.loader import KnowledgeError, Problem
from bot.knowledge.service import KnowledgeService

SHOWN_PROBLEMS = 10  # a chat message stays readable; `python -m bot kb check` lists them all


class StaffFeature:
    """/reload, for staff only."""

    def __init__(
        self,
        knowledge: KnowledgeService,
        reload: Callable[[], Awaitable[int]],
        audit: AuditLog | None = None,
    ) -> None:
        self.knowledge = knowledge
        self._reload = reload  # validates the whole set off the event loop, then switches
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
            count = await self._reload()
        except KnowledgeError as exc:
            await self._record(turn, "reload-failed")
            return [Reply(self._problems(t, exc.errors), turn.lang)]
        text = t.ngettext(
            "Knowledge base reloaded: %(count)d topic.",
            "Knowledge base reloaded: %(count)d topics.",
            count,
        ) % {"count": count}
        await self._record(turn, "reload")
        return [Reply(text, turn.lang)]

    def _problems(self, t: Translator, problems: list[Problem]) -> str:
        """A translated header, the first problems (file:line: field: …), the rest counted."""
        head = t.gettext("The knowledge base has errors; I keep using the previous version:")
        lines = [head, *(p.shown_from(self.knowledge.root) for p in problems[:SHOWN_PROBLEMS])]
        hidden = len(problems) - SHOWN_PROBLEMS
        if hidden > 0:
            more = t.ngettext("…and %(count)d more error.", "…and %(count)d more errors.", hidden)
            lines.append(more % {"count": hidden})
        return "\n".join(lines)

    async def _record(self, turn: Turn, action: str) -> None:
        if self.audit is not None:
            await self.audit.record(f"{turn.msg.channel.value}:{turn.msg.user_id}", action)
