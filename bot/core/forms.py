"""One form mechanism: every multi-step conversation (RSVP, day plan, broadcast) is a Form.

A form's state is a `FormState` (kind, step, data) saved with the conversation, so a form
survives restarts and works the same on every channel. The dispatcher hands an open form
only the text typed into it and the presses of its own kind: a press meant for another form
can never reach it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from bot.core.payloads import Press
from bot.core.state import FormState
from bot.core.types import Reply

if TYPE_CHECKING:
    from bot.core.dispatcher import Turn

# Typed alone, these leave any form, in all eight languages.
CANCEL_WORDS = frozenset(
    {"cancel", "/cancel", "stop", "quit", "exit", "never mind", "nevermind", "forget it",
     "取消", "算了", "不要了", "不用了", "退出",
     "annuler", "arrêter", "laisse tomber", "laissez tomber",
     "cancelar", "olvídalo", "olvidalo", "déjalo", "dejalo", "salir",
     "отмена", "отменить", "забудь", "не надо", "выход",
     "إلغاء", "الغاء", "انس الأمر", "توقف", "خروج",
     "sair", "esquece", "deixa pra lá", "deixa pra la",
     "ghairi", "sitisha", "achana nayo", "acha"}
)  # fmt: skip
_TRAILING = " \t\n.!?。！？~～…吧啦"


def is_cancel(text: str) -> bool:
    """Whether the text, alone, asks to leave the form ("cancel", "算了吧！", "never mind")."""
    return text.strip().lower().rstrip(_TRAILING) in CANCEL_WORDS


class Form(Protocol):
    """A multi-step conversation; `kind` is also the press kind of its buttons."""

    kind: str

    async def on_text(self, turn: Turn, form: FormState, text: str) -> list[Reply]:
        """Handle text typed while the form is open; set `turn.form` to go on or end."""
        ...

    async def on_press(self, turn: Turn, form: FormState, press: Press) -> list[Reply]:
        """Handle a press of the form's own kind while it is open."""
        ...

    async def on_cancel(self, turn: Turn, form: FormState) -> list[Reply]:
        """The person typed a cancel word: say what was dropped."""
        ...
