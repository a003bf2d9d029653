"""The one message type that enters the core and the one reply type that leaves it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Channel(StrEnum):
    CONSOLE = "console"
    TELEGRAM = "telegram"
    WECHAT = "wechat"
    BATCH = "batch"


@dataclass(frozen=True, slots=True)
class Incoming:
    """A user's message or button press, as every channel hands it to the core."""

    channel: Channel
    user_id: str
    chat_id: str
    text: str = ""
    payload: str | None = None  # button data; set instead of text for presses
    message_id: str | None = None
    locale_hint: str | None = None  # the platform's language code, e.g. "fr-FR"


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Location:
    lat: float
    lon: float
    title: str
    address: str


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str


@dataclass(frozen=True, slots=True)
class Recipient:
    channel: Channel
    chat_id: str


@dataclass(frozen=True, slots=True)
class Reply:
    """What the core wants said back; channels decide how to render it."""

    text: str
    lang: str
    buttons: tuple[Button, ...] = ()
    location: Location | None = None
    attachment: Attachment | None = None
    # Someone other than the sender, e.g. the reporter promoted from a waitlist.
    recipient: Recipient | None = None
    # Why the core answered as it did; channels ignore it, tests and `ask --json` read it.
    meta: dict[str, object] = field(default_factory=dict, compare=False)
