"""Staff views of how the bot is used: /stats (with a chart), /unanswered and /audit.
The same renderings serve `python -m bot stats`, `kb unanswered` and `audit`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.dispatcher import Command, Registry, Turn
from bot.core.types import Attachment, Channel, Reply
from bot.features.rsvp import STATUS_LABELS
from bot.i18n import N_, Translator, translator
from bot.staffops.questions import QuestionGroup, QuestionsService
from bot.staffops.repository import AuditEntries, UsageEvents, UsageSources
from bot.staffops.stats import Figures, usage_figures

SHANGHAI = ZoneInfo("Asia/Shanghai")
STATS_DAYS = 30
SHOWN_GROUPS = 15
SHOWN_AUDIT = 20
# Channels whose replies carry the chart as a file (WeChat would need a media upload).
CHART_CHANNELS = {Channel.TELEGRAM, Channel.CONSOLE}
# The chart's font has no Chinese glyphs and does not join Arabic letters.
CHART_FALLBACK = {"zh": "en", "ar": "en"}


class InsightsFeature:
    """Usage figures, unanswered questions and the audit log, for staff only."""

    def __init__(
        self,
        questions: QuestionsService,
        events: UsageEvents,
        sources: UsageSources,
        audit: AuditEntries,
        clock: Callable[[], datetime],
    ) -> None:
        self.questions = questions
        self.events = events
        self.sources = sources
        self.audit = audit
        self.clock = clock

    def register(self, registry: Registry) -> None:
        """The three staff commands."""
        for name, handler, description in (
            ("stats", self.stats, N_("usage figures and a chart")),
            ("unanswered", self.unanswered, N_("questions I could not answer")),
            ("audit", self.audit_log, N_("what staff did, and when")),
        ):
            registry.command(Command(name, handler, description, staff_only=True))

    async def figures(self, days: int = STATS_DAYS) -> Figures:
        """The figures of the last `days` days."""
        since = (self.clock().astimezone(SHANGHAI) - timedelta(days=days - 1)).date()
        return await usage_figures(self.events, self.sources, since.isoformat())

    async def stats(self, turn: Turn, args: str) -> list[Reply]:
        """/stats: the figures of the last 30 days, and the chart as a PNG."""
        figures = await self.figures()
        attachment = None
        if turn.msg.channel in CHART_CHANNELS and figures.questions_per_day:
            attachment = Attachment("usage.png", chart(figures, turn.t), "image/png")
        return [Reply(render_figures(figures, turn.t), turn.lang, attachment=attachment)]

    async def unanswered(self, turn: Turn, args: str) -> list[Reply]:
        """/unanswered: what people asked that the knowledge base lacks."""
        groups = await self.questions.groups()
        return [Reply(render_groups(groups, turn.t), turn.lang)]

    async def audit_log(self, turn: Turn, args: str) -> list[Reply]:
        """/audit: the latest staff actions."""
        entries = await self.audit.recent(SHOWN_AUDIT)
        return [Reply(render_audit(entries, turn.t), turn.lang)]


def chart(figures: Figures, t: Translator) -> bytes:
    """The usage chart, its labels in the staff member's language where the font allows."""
    from bot.staffops.chart import usage_chart  # matplotlib loads only when asked for

    labels = translator(CHART_FALLBACK.get(t.lang, t.lang))
    return usage_chart(
        figures,
        labels.gettext("Questions per day, by language"),
        labels.gettext("Answered (per cent)"),
    )


def render_figures(figures: Figures, t: Translator) -> str:
    """The figures as a short text."""
    people = "; ".join(
        f"{channel} {sum(langs.values())} ("
        + ", ".join(f"{lang} {n}" for lang, n in langs.items())
        + ")"
        for channel, langs in figures.people.items()
    )
    rsvps = "; ".join(
        f"{tour}: " + ", ".join(f"{_status(status, t)} {n}" for status, n in counts.items())
        for tour, counts in figures.rsvps.items()
    )
    topics = ", ".join(f"{topic} {n}" for topic, n in figures.top_topics)
    lines = [
        t.gettext("Usage since %(day)s") % {"day": figures.since},
        t.gettext("People by channel and language: %(people)s") % {"people": people or "0"},
        t.gettext("Questions: %(count)d, answered: %(answered)d (%(rate)d%%)") % {
            "count": figures.questions, "answered": figures.answered,
            "rate": round(100 * figures.answer_rate)},
        t.gettext("Top topics: %(topics)s") % {"topics": topics or "-"},
        t.gettext("RSVPs: %(rsvps)s") % {"rsvps": rsvps or "0"},
        t.gettext("Subscribers: %(count)d") % {"count": figures.subscribers},
        t.gettext("Broadcast messages: %(count)d") % {"count": figures.broadcasts},
        t.gettext("Handoffs: %(open)d open, %(all)d in all") % {
            "open": figures.handoffs_open, "all": figures.handoffs},
    ]  # fmt: skip
    return "\n".join(lines)


def _status(status: str, t: Translator) -> str:
    return t.gettext(STATUS_LABELS[status]) if status in STATUS_LABELS else status


def render_groups(groups: list[QuestionGroup], t: Translator) -> str:
    """Unanswered questions, most frequent first."""
    if not groups:
        return t.gettext("No unanswered questions. 🎉")
    lines = [t.gettext("Questions I could not answer well, most frequent first:")]
    for group in groups[:SHOWN_GROUPS]:
        guess = f" → {group.guess}" if group.guess else ""
        lines.append(f"{group.count}× [{group.lang}] {group.example[:200]}{guess}")
    if len(groups) > SHOWN_GROUPS:
        more = len(groups) - SHOWN_GROUPS
        lines.append(t.ngettext("…and %(count)d more group.", "…and %(count)d more groups.",
                                more) % {"count": more})  # fmt: skip
    return "\n".join(lines)


def render_audit(entries: list[dict[str, object]], t: Translator) -> str:
    """The audit entries, newest first."""
    if not entries:
        return t.gettext("No staff actions recorded yet.")
    lines = [t.gettext("Staff actions, newest first:")]
    for entry in entries:
        when = datetime.fromtimestamp(float(str(entry["at"])), SHANGHAI)
        detail = f" {entry['detail']}" if entry["detail"] else ""
        lines.append(f"{t.datetime(when, 'short')} {entry['actor']} {entry['action']}{detail}")
    return "\n".join(lines)
