"""What the core remembers about one person on one channel, between messages."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class FormState:
    """A multi-step form in progress: which form, which step, and the answers so far."""

    kind: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)

    def at(self, step: str, **answers: Any) -> FormState:
        """The same form moved to `step`, with `answers` added."""
        return FormState(self.kind, step, {**self.data, **answers})


@dataclass(frozen=True, slots=True)
class Conversation:
    """One person's conversation state, keyed by (channel, user_id)."""

    channel: str
    user_id: str
    lang: str | None = None  # chosen with /language; wins over any guess
    last_lang: str | None = None  # language of the last reply, for "1" or "😊"
    last_topic: str | None = None  # for follow-ups such as "how do I get there?"
    choices: tuple[str, ...] = ()  # payloads of the last numbered choices
    form: FormState | None = None  # a multi-step form in progress
    last_facet: str | None = None
    last_question: str | None = None
    updated_at: float = 0.0  # when the last message was handled (context expires)

    def updated(self, **changes: Any) -> Conversation:
        """A copy with `changes` applied."""
        return replace(self, **changes)
