"""The one message type that enters the core and the one reply type that leaves it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Channel(StrEnum):
    """Where a person talks to the bot."""

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
    update_key: str | None = None  # the platform's delivery id: a redelivery is handled once
    display_name: str = ""  # the person's name on the platform, for staff handoffs
    reply_to: str = ""  # the text of the message this one answers (staff answer a handoff)
    is_group: bool = False  # sent in a group chat: no personal or staff data goes back there


@dataclass(frozen=True, slots=True)
class Button:
    """A choice shown with a reply; `payload` is what a press sends back."""

    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Location:
    """A map pin."""

    lat: float
    lon: float
    title: str
    address: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a reply (calendar, CSV)."""

    filename: str
    content: bytes
    mime_type: str


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone to deliver to outside the current conversation."""

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
    # Why the core answered as it did; channels ignore it, tests and `ask --json` read it.
    meta: dict[str, object] = field(default_factory=dict, compare=False)
