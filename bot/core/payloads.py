"""Button payloads: typed, versioned and short, so buttons in old chats keep working.

Format `kind:v1:arg[:arg]`. Telegram allows 64 bytes of callback data; ids are checked
against that when built, and anything unparseable is rejected at the channel edge.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PAYLOAD_BYTES = 64
VERSION = "v1"


@dataclass(frozen=True, slots=True)
class TopicPress:
    topic_id: str
    facet: str | None = None


@dataclass(frozen=True, slots=True)
class MenuPress:
    kind: str


@dataclass(frozen=True, slots=True)
class LanguagePress:
    lang: str


@dataclass(frozen=True, slots=True)
class PlanPress:
    action: str  # site, done, day, from, at, cancel
    arg: str | None = None


@dataclass(frozen=True, slots=True)
class RsvpPress:
    tour_id: str
    action: str  # show, join, consent, decline, skip, cancel, quit


Press = TopicPress | MenuPress | LanguagePress | PlanPress | RsvpPress


def encode(press: Press) -> str:
    match press:
        case TopicPress(topic_id, facet):
            parts = ["topic", VERSION, topic_id, *([facet] if facet else [])]
        case MenuPress(kind):
            parts = ["menu", VERSION, kind]
        case LanguagePress(lang):
            parts = ["lang", VERSION, lang]
        case PlanPress(action, arg):
            parts = ["plan", VERSION, action, *([arg] if arg else [])]
        case RsvpPress(tour_id, action):
            parts = ["rsvp", VERSION, tour_id, action]
    payload = ":".join(parts)
    if len(payload.encode()) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload longer than {MAX_PAYLOAD_BYTES} bytes: {payload!r}")
    return payload


def decode(payload: str) -> Press | None:
    """The press a payload stands for, or None for anything forged, old or truncated."""
    if len(payload.encode()) > MAX_PAYLOAD_BYTES:
        return None
    parts = payload.split(":")
    if parts[0] == "plan" and len(parts) == 5:  # plan:v1:at:HH:MM
        parts = [*parts[:3], f"{parts[3]}:{parts[4]}"]
    if len(parts) < 3 or parts[1] != VERSION or not all(parts):
        return None
    kind, args = parts[0], parts[2:]
    if kind == "topic" and len(args) in (1, 2):
        return TopicPress(args[0], args[1] if len(args) == 2 else None)
    if kind == "menu" and len(args) == 1:
        return MenuPress(args[0])
    if kind == "lang" and len(args) == 1:
        return LanguagePress(args[0])
    if kind == "rsvp" and len(args) == 2:
        return RsvpPress(args[0], args[1])
    if kind == "plan" and len(args) in (1, 2):
        # "at" carries a time (HH:MM), which has a colon of its own.
        return PlanPress(args[0], ":".join(args[1:]) or None)
    return None
