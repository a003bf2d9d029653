"""WeChat Official Account protocol, pure: signatures, safe-mode crypto, XML in and out.

Implemented from WeChat's published algorithm on `cryptography` and `defusedxml` rather
than through wechatpy (last release 2021): we need a few dozen lines of it, and want the
padding and app id checked, signatures compared in constant time and the XML parsed with
entities and DTDs refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
import xml.etree.ElementTree as StdET
from collections.abc import Sequence
from dataclasses import dataclass, replace

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from bot.channels.console import render_plain
from bot.core.types import Reply
from bot.geo import amap_link
from bot.i18n import N_, translator

MAX_XML_BYTES = 64 * 1024  # WeChat's pushes are well under 2 kB
TEXT_LIMIT_BYTES = 2048  # passive and customer-service text, UTF-8
PAD_BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16
AES_KEY_CHARS = 43
ELLIPSIS = "…"
_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
PICTURE_TYPES = frozenset({"image/jpeg", "image/png"})  # what WeChat can show as a picture
# An Official Account's customer-service API has no file message (only WeCom's has), so a
# calendar or CSV is named and the person told where to get it.
NO_FILES = N_(
    "WeChat cannot carry this file: ask the press office for it, or get it from this bot "
    "on Telegram."
)


class ProtocolError(ValueError):
    """A request that breaks the protocol: bad XML, bad ciphertext, wrong app id."""


# signatures ---------------------------------------------------------------------------


def signature(*parts: str) -> str:
    """WeChat's SHA-1 signature: the parts sorted, joined and hashed, as hex."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def check_signature(token: str, timestamp: str, nonce: str, given: str) -> bool:
    """Whether `given` signs (token, timestamp, nonce); constant-time."""
    return hmac.compare_digest(signature(token, timestamp, nonce).encode(), given.encode())


def check_msg_signature(token: str, timestamp: str, nonce: str, encrypted: str, given: str) -> bool:
    """Whether `given` is the safe-mode msg_signature over the ciphertext; constant-time."""
    expected = signature(token, timestamp, nonce, encrypted)
    return hmac.compare_digest(expected.encode(), given.encode())


# safe-mode crypto ---------------------------------------------------------------------


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key from the 43-character EncodingAESKey."""
    if len(encoding_aes_key) != AES_KEY_CHARS:
        raise ValueError("the EncodingAESKey has 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise ValueError("the EncodingAESKey is not base64") from exc
    if len(key) != 32:
        raise ValueError("the EncodingAESKey does not decode to 32 bytes")
    return key


def pad(data: bytes, block: int = PAD_BLOCK) -> bytes:
    """PKCS#7 padding to a multiple of `block` (always adds 1..block bytes)."""
    count = block - len(data) % block
    return data + bytes([count]) * count


def unpad(data: bytes, block: int = PAD_BLOCK) -> bytes:
    """Remove PKCS#7 padding, checking every padding byte."""
    count = data[-1] if data else 0
    if not 1 <= count <= block or data[-count:] != bytes([count]) * count:
        raise ProtocolError("bad padding")
    return data[:-count]


def _cipher(key: bytes) -> Cipher[modes.CBC]:
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def encrypt(key: bytes, xml: str, app_id: str, random16: bytes | None = None) -> str:
    """Safe-mode ciphertext (base64) of 16 random bytes, length, XML and app id."""
    body = xml.encode()
    plain = (random16 or os.urandom(16)) + struct.pack(">I", len(body)) + body + app_id.encode()
    encryptor = _cipher(key).encryptor()
    return base64.b64encode(encryptor.update(pad(plain)) + encryptor.finalize()).decode()


def decrypt(key: bytes, encrypted: str, app_id: str) -> str:
    """The XML inside a safe-mode ciphertext; ProtocolError if anything does not check."""
    try:
        raw = base64.b64decode(encrypted, validate=True)
    except binascii.Error as exc:
        raise ProtocolError("ciphertext is not base64") from exc
    if not raw or len(raw) % 16:
        raise ProtocolError("ciphertext is not whole AES blocks")
    decryptor = _cipher(key).decryptor()
    plain = unpad(decryptor.update(raw) + decryptor.finalize())
    return _unframe(plain, app_id)


def _unframe(plain: bytes, app_id: str) -> str:
    if len(plain) < 20:
        raise ProtocolError("plaintext too short")
    (length,) = struct.unpack(">I", plain[16:20])
    body, trailer = plain[20 : 20 + length], plain[20 + length :]
    if len(body) != length or not hmac.compare_digest(trailer, app_id.encode()):
        raise ProtocolError("wrong length or app id")
    try:
        return body.decode()
    except UnicodeDecodeError as exc:
        raise ProtocolError("plaintext is not UTF-8") from exc


# XML in -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A place a user sent or reported: WGS-84 as WeChat gives it, and its label."""

    lat: float
    lon: float
    label: str = ""


@dataclass(frozen=True, slots=True)
class WeChatMessage:
    """One message or event WeChat pushed to the account."""

    to_user: str  # the account's original id
    from_user: str  # the sender's openid
    create_time: int
    msg_type: str  # text, image, voice, video, shortvideo, location, link, file, event
    content: str = ""
    msg_id: str | None = None
    event: str | None = None  # subscribe, unsubscribe, CLICK, VIEW, LOCATION, SCAN …
    event_key: str | None = None
    location: GeoPoint | None = None
    media_id: str | None = None

    @property
    def dedupe_key(self) -> str:
        """MsgId for messages; sender and time for events, which have none."""
        return self.msg_id or f"{self.from_user}:{self.create_time}:{self.event or ''}"


def parse_fields(body: bytes) -> dict[str, str]:
    """The flat children of a WeChat <xml> document; DTDs, entities and big bodies refused."""
    if len(body) > MAX_XML_BYTES:
        raise ProtocolError("body too large")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, StdET.ParseError, UnicodeError) as exc:
        raise ProtocolError(f"unreadable XML: {type(exc).__name__}") from exc
    if root.tag != "xml":
        raise ProtocolError("root element is not <xml>")
    return {child.tag: (child.text or "").strip() for child in root}


def parse_message(body: bytes) -> WeChatMessage:
    """A typed message from a plaintext push; ProtocolError when fields are missing."""
    fields = parse_fields(body)
    try:
        return WeChatMessage(
            to_user=fields["ToUserName"],
            from_user=_required(fields["FromUserName"]),
            create_time=int(fields["CreateTime"]),
            msg_type=_required(fields["MsgType"]).lower(),
            content=fields.get("Content", "") or fields.get("Recognition", ""),
            msg_id=fields.get("MsgId") or None,
            event=fields.get("Event") or None,
            event_key=fields.get("EventKey") or None,
            location=_location(fields),
            media_id=fields.get("MediaId") or None,
        )
    except (KeyError, ValueError) as exc:
        raise ProtocolError(f"missing or bad field: {exc}") from None


def _required(value: str) -> str:
    if not value:
        raise ValueError("empty")
    return value


def _location(fields: dict[str, str]) -> GeoPoint | None:
    if "Location_X" in fields:  # a location message
        lat, lon = fields["Location_X"], fields["Location_Y"]
    elif "Latitude" in fields:  # the LOCATION event
        lat, lon = fields["Latitude"], fields["Longitude"]
    else:
        return None
    return GeoPoint(float(lat), float(lon), fields.get("Label", ""))


def envelope_ciphertext(body: bytes) -> str:
    """The <Encrypt> text of a safe-mode push."""
    encrypted = parse_fields(body).get("Encrypt", "")
    if not encrypted:
        raise ProtocolError("no Encrypt element")
    return encrypted


# XML out ------------------------------------------------------------------------------


def cdata(text: str) -> str:
    """Text as CDATA; a "]]>" inside is split across two sections, bad characters dropped."""
    clean = _INVALID_XML_CHARS.sub("", text)
    return "<![CDATA[" + clean.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply_xml(to_user: str, from_user: str, text: str, create_time: int) -> str:
    """A passive text reply; the text is cut to WeChat's limit."""
    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(fit_text(text))}</Content></xml>"
    )


def encrypted_reply_xml(
    key: bytes, token: str, app_id: str, xml: str, timestamp: str, nonce: str
) -> str:
    """The safe-mode envelope around a reply: Encrypt, MsgSignature, TimeStamp, Nonce."""
    encrypted = encrypt(key, xml, app_id)
    sig = signature(token, timestamp, nonce, encrypted)
    return (
        f"<xml><Encrypt>{cdata(encrypted)}</Encrypt><MsgSignature>{cdata(sig)}</MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{cdata(nonce)}</Nonce></xml>"
    )


# text ---------------------------------------------------------------------------------


def render(reply: Reply, numbered: bool = True) -> str:
    """A reply as WeChat text: place with map links, file named, choices as numbered lines
    (bullets when typing the number cannot press them: "2" presses the last reply's)."""
    text = render_plain(replace(reply, buttons=()))
    if reply.location:
        where = reply.location
        text += f"\n   {amap_link(where.title, where.lat, where.lon)}"
    if reply.attachment:
        text += f"\n\n📎 {reply.attachment.filename}"
        if reply.attachment.mime_type not in PICTURE_TYPES:
            text += "\n" + translator(reply.lang).gettext(NO_FILES)
    if reply.buttons:
        lines = [
            f"  {f'{n}.' if numbered else '•'} {button.label}"
            for n, button in enumerate(reply.buttons, start=1)
        ]
        text += "\n\n" + "\n".join(lines)
    return text


def render_turn(replies: Sequence[Reply]) -> str:
    """A turn's replies as one text; only the last one's choices are numbered, because
    the core saves the last reply's buttons as the choices "1", "2" … press."""
    last = len(replies) - 1
    return "\n\n".join(render(r, numbered=n == last) for n, r in enumerate(replies))


def _prefix_chars(text: str, limit: int) -> int:
    """How many leading characters of `text` fit in `limit` UTF-8 bytes."""
    return len(text.encode()[:limit].decode(errors="ignore"))


def _cut(text: str, limit: int) -> int:
    """Where to cut `text` to fit `limit` bytes: a paragraph, line or word end if near."""
    end = _prefix_chars(text, limit)
    if end >= len(text):
        return end
    for mark in ("\n\n", "\n", " "):
        at = text.rfind(mark, 0, end + 1)
        if at > end // 2:
            return at
    return end


def fit_text(text: str, limit: int = TEXT_LIMIT_BYTES) -> str:
    """The text, or its start cut at a line or word and ended with "…", within `limit`."""
    if len(text.encode()) <= limit:
        return text
    room = limit - len(ELLIPSIS.encode())
    return text[: _cut(text, room)].rstrip() + ELLIPSIS


def split_text(text: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """The text in pieces of at most `limit` bytes, cut at paragraphs, lines or words."""
    pieces: list[str] = []
    rest = text.strip()
    while rest:
        at = max(_cut(rest, limit), 1)
        pieces.append(rest[:at].rstrip())
        rest = rest[at:].lstrip()
    return [p for p in pieces if p]
