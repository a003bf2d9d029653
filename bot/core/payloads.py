"""Button payloads: typed, versioned and short, so buttons in old chats keep working.

Format `kind:v1:arg[:arg]`. Telegram allows 64 bytes of callback data; payloads are checked
against that when built, and anything unparseable is rejected at the edge. The core knows no
kind: each feature registers the kinds it handles and reads its own arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PAYLOAD_BYTES = 64
VERSION = "v1"
# Not a button: a channel reports that the person blocked the bot as a press of this kind
# (member:v1:blocked), so the same pipeline routes it to whoever unsubscribes them.
MEMBER = "member"


@dataclass(frozen=True, slots=True)
class Press:
    """A button press: the feature's kind and its arguments."""

    kind: str
    args: tuple[str, ...] = ()

    def arg(self, index: int) -> str | None:
        """The argument at `index`, or None when the press has fewer."""
        return self.args[index] if index < len(self.args) else None


def encode(kind: str, *args: str | None) -> str:
    """The payload for a press of `kind`; None arguments are left out."""
    payload = ":".join([kind, VERSION, *(a for a in args if a)])
    if len(payload.encode()) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload longer than {MAX_PAYLOAD_BYTES} bytes: {payload!r}")
    return payload


def decode(payload: str) -> Press | None:
    """The press a payload stands for, or None for anything forged, old or truncated."""
    if len(payload.encode("utf-8", "replace")) > MAX_PAYLOAD_BYTES:
        return None
    parts = payload.split(":")
    if len(parts) < 3 or parts[1] != VERSION or not all(parts):
        return None
    return Press(parts[0], tuple(parts[2:]))
