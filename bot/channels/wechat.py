"""The WeChat Official Account channel: GET/POST /wechat in, passive XML or customer-service out.

WeChat waits 5 seconds for the passive reply and retries the same push three times, so a
turn gets 4.5 seconds; a slower one is answered "success" and its replies follow through
the customer-service API. Logs hold openids and errcodes, never message text.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.channels import wechat_protocol as wp
from bot.channels.wechat_api import WeChatApi, WeChatApiError
from bot.core.delivery import SENT, Delivery, SendResult
from bot.core.types import Channel, Incoming, Reply
from bot.i18n import N_, translator

log = logging.getLogger(__name__)

REPLY_SECONDS = 4.5  # WeChat gives up on a passive reply after 5 s
MAX_AGE_SECONDS = 300  # a signed push older (or newer) than this is refused
MAX_BODY_BYTES = 2 * wp.MAX_XML_BYTES  # the safe-mode envelope is base64, a third longer
SUCCESS = "success"  # tells WeChat "received, nothing to say now"
# WeChat refuses customer-service messages to anyone silent for longer (errcode 45015).
WINDOW_SECONDS = 48 * 3600
PAYLOAD = re.compile(r"^[a-z]+:v\d+:")  # a button payload such as rsvp:v1:tour:join
NOT_TEXT = N_("Sorry, I can only read text messages for now. Please type your question.")
NO_LOCATIONS = N_(
    "Thank you! I can't use shared locations yet. "
    "Please type the name of the place you are asking about."
)

Handle = Callable[[Incoming], Awaitable[list[Reply]]]
Delivered = Callable[[list[Reply]], Awaitable[None]]
UserHook = Callable[[str], Awaitable[None]]
LanguageOf = Callable[[str], Awaitable[str]]
# When the person last wrote (epoch seconds), or None when the store does not know.
LastSeen = Callable[[str], Awaitable[float | None]]


@dataclass(frozen=True, slots=True)
class WeChatConfig:
    """The account's server settings; an EncodingAESKey turns on safe mode."""

    token: str
    app_id: str
    aes_key: str | None = None
    app_secret: str = ""
    api_url: str = "https://api.weixin.qq.com"

    def __repr__(self) -> str:
        return f"WeChatConfig(app_id={self.app_id}, safe_mode={self.aes_key is not None})"


@dataclass(slots=True)
class WeChatStats:
    """What the channel did, for benches and health checks."""

    passive: int = 0  # answered inside the 5-second reply
    fell_back: int = 0  # answered later through the customer-service API
    silent: int = 0  # nothing to say: a retry already handled, a dropped flood message
    refused: int = 0  # bad signature, stale timestamp, too big or malformed


class WeChatSender:
    """Delivers replies outside a turn through the customer-service API (the outbox's Sender).

    With `last_seen`, a push to someone silent for 48 hours is not even tried: WeChat would
    refuse it, and the outbox records it as outside the window either way."""

    channel = Channel.WECHAT

    def __init__(
        self,
        api: WeChatApi,
        last_seen: LastSeen | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api = api
        self._last_seen, self._clock = last_seen, clock

    async def send(self, chat_id: str, reply: Reply) -> SendResult:
        """A push: the window checked, buttons as bullets ("2" presses only a turn's)."""
        if await self._outside_window(chat_id):
            return SendResult(Delivery.OUTSIDE_WINDOW, reason="silent for 48 h")
        return await self.deliver(chat_id, reply, numbered=False)

    async def deliver(self, chat_id: str, reply: Reply, numbered: bool = True) -> SendResult:
        """Send the reply as text (split at the limit) and any picture."""
        for piece in wp.split_text(wp.render(reply, numbered)):
            result = await self.api.send_text(chat_id, piece)
            if result != SENT:
                return result
        return await self.send_picture(chat_id, reply)

    async def _outside_window(self, chat_id: str) -> bool:
        seen = await self._last_seen(chat_id) if self._last_seen else None
        return seen is not None and self._clock() - seen > WINDOW_SECONDS

    async def send_picture(self, chat_id: str, reply: Reply) -> SendResult:
        """Pictures go as images; other files were named in the text (WeChat has no files)."""
        file = reply.attachment
        if file is None or file.mime_type not in wp.PICTURE_TYPES:
            return SENT
        try:
            media_id = await self.api.upload_media(
                "image", file.filename, file.content, file.mime_type
            )
        except WeChatApiError as exc:
            log.warning("WeChat media upload refused: errcode %s", exc.errcode)
            return SENT  # the text, naming the file, went out
        return await self.api.send_image(chat_id, media_id)


class WeChatChannel:
    """Turns WeChat pushes into the core's Incoming and its replies into WeChat's answers."""

    def __init__(
        self,
        config: WeChatConfig,
        api: WeChatApi,
        handle: Handle,
        on_unsubscribe: UserHook | None = None,
        language_of: LanguageOf | None = None,
        clock: Callable[[], float] = time.time,
        last_seen: LastSeen | None = None,
        delivered: Delivered | None = None,
    ) -> None:
        self.config, self.sender = config, WeChatSender(api, last_seen, clock)
        self._handle = handle
        self._delivered = delivered
        self._on_unsubscribe, self._language_of = on_unsubscribe, language_of
        self._clock = clock
        self._key = wp.aes_key(config.aes_key) if config.aes_key else None
        self._later: set[asyncio.Task[None]] = set()
        self.stats = WeChatStats()

    def routes(self) -> list[Route]:
        """GET /wechat (URL check) and POST /wechat (messages)."""
        return [
            Route("/wechat", self._url_check, methods=["GET"]),
            Route("/wechat", self._push, methods=["POST"]),
        ]

    async def drain(self) -> None:
        """Wait for replies still being delivered through the customer-service API."""
        while self._later:
            await asyncio.gather(*list(self._later), return_exceptions=True)

    # HTTP ---------------------------------------------------------------------------

    async def _url_check(self, request: Request) -> Response:
        """Echo echostr when the request is signed with our token (plain in every mode)."""
        query = request.query_params
        if not self._signed(query):
            return Response(status_code=403)
        return PlainTextResponse(query.get("echostr", ""))

    async def _push(self, request: Request) -> Response:
        """Check, parse and answer one push (the pipeline drops WeChat's retries)."""
        query = request.query_params
        if not self._signed(query) or not self._fresh(query.get("timestamp", "")):
            return self._refuse(403, "unsigned or stale")
        body = await read_limited(request, MAX_BODY_BYTES)
        if body is None:
            return self._refuse(413, "too large")
        try:
            msg = self._open(body, query)
        except wp.ProtocolError as exc:
            return self._refuse(400, str(exc))
        return await self._answer(msg, query.get("nonce", ""))

    def _refuse(self, status: int, why: str) -> Response:
        self.stats.refused += 1
        log.warning("refused a WeChat push (%s): %s", status, why)
        return Response(status_code=status)

    def _signed(self, query: Mapping[str, str]) -> bool:
        parts = (query.get("timestamp", ""), query.get("nonce", ""), query.get("signature", ""))
        return all(parts) and wp.check_signature(self.config.token, *parts)

    def _fresh(self, timestamp: str) -> bool:
        return timestamp.isdigit() and abs(self._clock() - int(timestamp)) <= MAX_AGE_SECONDS

    def _open(self, body: bytes, query: Mapping[str, str]) -> wp.WeChatMessage:
        """The message in a push; in safe mode, after checking msg_signature and decrypting."""
        if self._key is None:
            return wp.parse_message(body)
        encrypted = wp.envelope_ciphertext(body)
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        given = query.get("msg_signature", "")
        if not wp.check_msg_signature(self.config.token, timestamp, nonce, encrypted, given):
            raise wp.ProtocolError("bad msg_signature")
        return wp.parse_message(wp.decrypt(self._key, encrypted, self.config.app_id).encode())

    # a turn -------------------------------------------------------------------------

    async def _answer(self, msg: wp.WeChatMessage, nonce: str) -> Response:
        """Run the turn for up to 4.5 s: a passive reply, or "success" and the API later."""
        turn = asyncio.create_task(self._turn(msg))
        try:
            replies = await asyncio.wait_for(asyncio.shield(turn), REPLY_SECONDS)
        except TimeoutError:
            self._deliver_later(msg.from_user, turn)
            return PlainTextResponse(SUCCESS)
        except Exception:  # the core apologises itself; this is a bug in the adapter
            log.exception("a WeChat turn failed for %s", msg.from_user)
            return PlainTextResponse(SUCCESS)
        pieces = wp.split_text(wp.render_turn(replies))
        if not pieces:  # an empty passive reply shows as an error; "success" shows nothing
            self.stats.silent += 1
            return PlainTextResponse(SUCCESS)
        pictures = [
            r for r in replies if r.attachment and r.attachment.mime_type in wp.PICTURE_TYPES
        ]
        if len(pieces) > 1 or pictures:
            self._push_later(msg.from_user, pieces[1:], pictures)
        self.stats.passive += 1
        await self._settle(replies)  # handed to WeChat in this response
        return self._passive(msg, pieces[0], nonce)

    async def _settle(self, replies: list[Reply]) -> None:
        if self._delivered is not None:
            await self._delivered(replies)

    async def _turn(self, msg: wp.WeChatMessage) -> list[Reply]:
        """The replies for the sender (notices for others go through the outbox)."""
        incoming = await self.to_incoming(msg)
        if isinstance(incoming, str):
            return [await self._polite(msg.from_user, incoming)]
        return await self._handle(incoming) if incoming else []

    async def to_incoming(self, msg: wp.WeChatMessage) -> Incoming | str | None:
        """The core's Incoming, an untranslated polite answer, or None when nothing is due."""
        if msg.msg_type == "event":
            return await self._event(msg)
        if msg.msg_type == "location":
            return NO_LOCATIONS
        if msg.msg_type not in ("text", "voice") or not msg.content:
            return NOT_TEXT  # a voice message counts when WeChat transcribed it
        return self._incoming(msg, text=msg.content)

    async def _event(self, msg: wp.WeChatMessage) -> Incoming | None:
        key, event = msg.event_key or "", (msg.event or "").lower()
        if event == "unsubscribe":
            if self._on_unsubscribe:
                await self._on_unsubscribe(msg.from_user)
            return None
        if event == "subscribe":  # staff read their openid here for BOT_STAFF_IDS
            log.info("a WeChat user followed the account: %s", msg.from_user)
        if event in ("subscribe", "scan"):  # a QR code's scene becomes the /start link
            scene = key.removeprefix("qrscene_")
            return self._incoming(msg, text=f"/start {scene}".strip())
        if event == "click" and key:
            if PAYLOAD.match(key):
                return self._incoming(msg, payload=key)
            return self._incoming(msg, text=key)
        return None  # VIEW, LOCATION reports, template receipts … need no answer

    def _incoming(
        self, msg: wp.WeChatMessage, text: str = "", payload: str | None = None
    ) -> Incoming:
        # The MsgId (sender and time for events) makes WeChat's retries, which may reach
        # another process, a repeat the pipeline's shared table answers once.
        openid = msg.from_user
        return Incoming(
            Channel.WECHAT, openid, openid, text, payload, msg.msg_id, update_key=msg.dedupe_key
        )

    async def _polite(self, openid: str, message: str) -> Reply:
        lang = await self._language_of(openid) if self._language_of else "en"
        return Reply(translator(lang).gettext(message), lang)

    def _passive(self, msg: wp.WeChatMessage, text: str, nonce: str) -> Response:
        now = int(self._clock())
        xml = wp.text_reply_xml(msg.from_user, msg.to_user, text, now)
        if self._key is not None:
            token, app_id = self.config.token, self.config.app_id
            xml = wp.encrypted_reply_xml(self._key, token, app_id, xml, str(now), nonce)
        return Response(xml, media_type="application/xml")

    # later --------------------------------------------------------------------------

    def _deliver_later(self, openid: str, turn: asyncio.Task[list[Reply]]) -> None:
        self.stats.fell_back += 1
        self._keep(self._send_when_done(openid, turn))

    def _push_later(self, openid: str, pieces: list[str], pictures: list[Reply]) -> None:
        self._keep(self._send_rest(openid, pieces, pictures))

    def _keep(self, job: Awaitable[None]) -> None:
        task = asyncio.ensure_future(job)
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    async def _send_when_done(self, openid: str, turn: asyncio.Task[list[Reply]]) -> None:
        try:
            replies = await turn
        except Exception:
            log.exception("a slow WeChat turn failed for %s", openid)
            return
        last = len(replies) - 1
        for number, reply in enumerate(replies):
            result = await self.sender.deliver(openid, reply, numbered=number == last)
            if result != SENT:
                log.warning("late WeChat reply to %s not sent: %s", openid, result.reason)
                return
        await self._settle(replies)

    async def _send_rest(self, openid: str, pieces: list[str], pictures: list[Reply]) -> None:
        """The text that did not fit the passive reply, then the pictures it named."""
        sends = [self.sender.api.send_text(openid, p) for p in pieces]
        sends += [self.sender.send_picture(openid, r) for r in pictures]
        for send in sends:
            result = await send
            if result != SENT:
                log.warning("WeChat continuation to %s not sent: %s", openid, result.reason)
                break


async def read_limited(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is longer than `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
