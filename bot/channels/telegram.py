"""Telegram: updates in, Bot API calls out. The only module that imports `telegram`."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    Message,
    Update,
    User,
)
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.core.delivery import Delivery, SendResult
from bot.core.payloads import MAX_PAYLOAD_BYTES, MEMBER, encode
from bot.core.types import Button, Channel, Incoming, Reply
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, translator

log = logging.getLogger(__name__)

MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH  # 4096
# Retries after a 429 "Too Many Requests"; Telegram says how long to wait.
MAX_SEND_ATTEMPTS = 3
MAX_RETRY_WAIT_S = 30.0
SHORT_LABEL = 18  # labels up to this length go two to a row
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

T = TypeVar("T")


def incoming(update: Update) -> Incoming | None:
    """The core's view of an update, or None for updates with nobody to answer."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    hint = user.language_code if isinstance(user.language_code, str) else None
    if update.my_chat_member is not None:
        return _membership(update, hint)
    query = update.callback_query
    message = update.effective_message
    if query is None and message is None:
        return None
    return Incoming(
        Channel.TELEGRAM,
        str(user.id),
        str(chat.id),
        "" if query or message is None else (message.text or message.caption or ""),
        (query.data or "") if query else None,
        str(message.message_id) if message and not query else None,
        hint,
        str(update.update_id),
        _name(user),
        _quoted(message) if query is None else "",
        chat.type != chat.PRIVATE,
    )


def _name(user: User) -> str:
    """The person's name for staff (a forged update may carry a non-text first_name)."""
    parts = (user.first_name, user.last_name)
    return " ".join(p for p in parts if isinstance(p, str) and p)[:100]


def _membership(update: Update, hint: str | None) -> Incoming | None:
    """The person blocked (kicked) the bot: a press of kind MEMBER the core routes."""
    change = update.my_chat_member
    assert change is not None
    if change.new_chat_member.status not in ("kicked", "left"):
        return None
    return Incoming(
        Channel.TELEGRAM, str(change.from_user.id), str(change.chat.id),
        payload=encode(MEMBER, "blocked"), update_key=str(update.update_id),
    )  # fmt: skip


def _quoted(message: Message | None) -> str:
    """The text of the message this one replies to (staff reply to a forwarded handoff)."""
    quoted = message.reply_to_message if message is not None else None
    return (quoted.text or quoted.caption or "")[:4096] if quoted is not None else ""


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut text into messages under the limit, at paragraph, line or word ends."""
    chunks: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind(sep, 0, limit) for sep in ("\n\n", "\n", " "))
        cut = cut if cut > limit // 2 else limit
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text or not chunks:
        chunks.append(text)
    return chunks


def escaped_chunks(text: str, limit: int = MAX_TEXT) -> list[str]:
    """HTML-escaped pieces, each within the limit after escaping (& becomes &amp;)."""
    pieces: list[str] = []
    size = limit
    pending = split_text(text, size)
    while pending:
        chunk = pending.pop(0)
        escaped = html.escape(chunk, quote=False)
        if len(escaped) <= limit:
            pieces.append(escaped)
        else:
            # "&" grows fivefold when escaped: cut this piece smaller and try again.
            size = max(1, size // 2)
            pending[:0] = split_text(chunk, size)
    return pieces


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """Inline buttons: short labels two to a row, long ones alone."""
    if not buttons:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    for button in buttons:
        if len(button.payload.encode()) > MAX_PAYLOAD_BYTES:
            log.warning("button %r dropped: payload over 64 bytes", button.label)
            continue
        key = InlineKeyboardButton(button.label[:64], callback_data=button.payload)
        short = len(button.label) <= SHORT_LABEL
        if short and rows and len(rows[-1]) == 1 and len(rows[-1][0].text) <= SHORT_LABEL:
            rows[-1].append(key)
        else:
            rows.append([key])
    return InlineKeyboardMarkup(rows)


async def with_retry(call: Callable[[], Awaitable[T]], attempts: int = MAX_SEND_ATTEMPTS) -> T:
    """Run a Bot API call, waiting as told on 429 a bounded number of times."""
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except RetryAfter as exc:
            seconds = _seconds(exc.retry_after)
            if attempt == attempts:
                raise
            log.warning("rate limited by Telegram; retrying in %.1f s", seconds)
            await asyncio.sleep(min(seconds, MAX_RETRY_WAIT_S))
    raise AssertionError("unreachable")


Handle = Callable[[Incoming], Awaitable[list[Reply]]]
Delivered = Callable[[list[Reply]], Awaitable[None]]


async def _nothing_to_settle(replies: list[Reply]) -> None:
    """The default when nobody needs to know a reply arrived."""


class TelegramChannel:
    """Translates updates for the pipeline and sends back the replies it returns."""

    def __init__(self, handle: Handle, delivered: Delivered = _nothing_to_settle) -> None:
        self.handle = handle
        self.delivered = delivered

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answers one update; a failure to send is logged, never fatal."""
        message = incoming(update)
        if message is None:
            return
        if update.callback_query is not None:  # stop the button's spinner at once
            await _quietly(lambda: update.callback_query.answer())  # type: ignore[union-attr]
        replies = await self.handle(message)
        try:
            await self.send(context.bot, message.chat_id, replies)
        except TelegramError as exc:
            log.warning(
                "reply to update %s not delivered: %s", update.update_id, type(exc).__name__
            )
            return
        await self.delivered(replies)

    async def send(self, bot: Bot, chat_id: str, replies: Sequence[Reply]) -> None:
        """Send the replies meant for this chat."""
        for reply in replies:
            await send_reply(bot, chat_id, reply)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Errors raised outside our handler (network, polling) are logged, never fatal."""
        if isinstance(context.error, Forbidden):
            log.info("a user blocked the bot")
            return
        log.error("telegram error: %s", type(context.error).__name__, exc_info=context.error)


class TelegramSender:
    """The outbox's way to Telegram: one reply to one chat, with a typed result."""

    channel = Channel.TELEGRAM

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: str, reply: Reply) -> SendResult:
        """Send the reply; blocked, rate-limited and other failures become results."""
        try:
            message_id = await send_reply(self.bot, chat_id, reply, attempts=1)
        except TelegramError as exc:
            return _result_of(exc)
        return SendResult(Delivery.SENT, message_id=message_id)

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> SendResult:
        """Replace a message's text and buttons (the text is cut to one message)."""
        try:
            await self.bot.edit_message_text(
                escaped_chunks(reply.text)[0], chat_id=chat_id, message_id=int(message_id),
                parse_mode=ParseMode.HTML, reply_markup=keyboard(reply.buttons),
                link_preview_options=NO_PREVIEW,
            )  # fmt: skip
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return SendResult(Delivery.SENT, message_id=message_id)
            return _result_of(exc)
        except TelegramError as exc:
            return _result_of(exc)
        return SendResult(Delivery.SENT, message_id=message_id)


def _result_of(exc: TelegramError) -> SendResult:
    """A Bot API error as a delivery result: blocked and gone chats are never retried."""
    if isinstance(exc, RetryAfter):
        return SendResult(Delivery.RETRY, _seconds(exc.retry_after), "retry_after")
    if isinstance(exc, Forbidden):
        return SendResult(Delivery.BLOCKED, reason="blocked")
    if isinstance(exc, BadRequest):
        gone = "chat not found" in exc.message.lower()
        return SendResult(Delivery.BLOCKED if gone else Delivery.FAILED, reason=exc.message[:100])
    return SendResult(Delivery.RETRY, reason=type(exc).__name__)  # the outbox backs off


async def _quietly(call: Callable[[], Awaitable[object]]) -> None:
    try:
        await call()
    except TelegramError as exc:
        log.info("callback answer failed: %s", type(exc).__name__)


def _seconds(wait: object) -> float:
    return float(wait.total_seconds()) if hasattr(wait, "total_seconds") else float(wait)  # type: ignore[arg-type]


async def send_reply(
    bot: Bot, chat_id: str, reply: Reply, attempts: int = MAX_SEND_ATTEMPTS
) -> str:
    """One reply as Bot API calls: text (split), keyboard on the last piece, venue, file.
    The id of the last text message."""
    retry = partial(with_retry, attempts=attempts)
    pieces = escaped_chunks(reply.text)
    markup = keyboard(reply.buttons)
    message_id = ""
    for number, piece in enumerate(pieces, start=1):
        last = number == len(pieces)
        sent = await retry(
            partial(
                bot.send_message,
                chat_id=chat_id,
                text=piece,
                parse_mode=ParseMode.HTML,
                reply_markup=markup if last else None,
                link_preview_options=NO_PREVIEW,
            )
        )
        message_id = str(sent.message_id)
    if reply.location is not None:
        where = reply.location
        await retry(
            partial(
                bot.send_venue,
                chat_id=chat_id,
                latitude=where.lat,
                longitude=where.lon,
                title=where.title[:256],
                address=where.address[:256],
            )
        )
    if reply.attachment is not None:
        item = reply.attachment
        document = InputFile(item.content, filename=item.filename)
        await retry(partial(bot.send_document, chat_id=chat_id, document=document))
    return message_id


async def publish_commands(bot: Bot, public_commands: list[tuple[str, str]]) -> None:
    """The command menu in every language (and English for everyone else)."""
    for lang in (None, *LANGUAGES):
        t = translator(lang or DEFAULT_LANGUAGE)
        commands = [BotCommand(name, t.gettext(text)[:256]) for name, text in public_commands]
        await with_retry(partial(bot.set_my_commands, commands, language_code=lang))


def build_application(
    token: str,
    handle: Handle,
    api_url: str | None = None,
    webhook: bool = False,
    delivered: Delivered = _nothing_to_settle,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """A python-telegram-bot Application wired to our channel; no updater for webhooks."""
    builder = ApplicationBuilder().token(token).concurrent_updates(True)
    if api_url:
        builder = builder.base_url(f"{api_url.rstrip('/')}/bot").base_file_url(
            f"{api_url.rstrip('/')}/file/bot"
        )
    if webhook:
        builder = builder.updater(None)
    application = builder.build()
    channel = TelegramChannel(handle, delivered)
    application.add_handler(TypeHandler(Update, channel.on_update))
    application.add_error_handler(channel.on_error)
    return application


class TelegramBot:
    """The Application's lifecycle: polling, or a webhook fed by our own web server."""

    def __init__(
        self,
        token: str,
        handle: Handle,
        public_commands: list[tuple[str, str]],
        api_url: str | None = None,
        webhook: bool = False,
        delivered: Delivered = _nothing_to_settle,
    ) -> None:
        self.webhook = webhook
        self.public_commands = public_commands
        self.application = build_application(token, handle, api_url, webhook, delivered)
        self.sender = TelegramSender(self.application.bot)

    async def start(self, webhook_url: str | None = None, secret: str | None = None) -> None:
        """Connect, publish the command menus, and start polling or set the webhook."""
        await self.application.initialize()
        await publish_commands(self.application.bot, self.public_commands)
        await self.application.start()
        if not self.webhook:
            assert self.application.updater is not None
            await self.application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        elif webhook_url:
            await self.application.bot.set_webhook(
                webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES
            )

    async def feed(self, data: object) -> None:
        """Queue one update received by the webhook (malformed JSON raises ValueError)."""
        if not isinstance(data, dict):
            raise ValueError("an update must be a JSON object")
        update = Update.de_json(data, self.application.bot)
        await self.application.update_queue.put(update)

    async def stop(self) -> None:
        """Stop polling and the Application."""
        if self.application.updater is not None and self.application.updater.running:
            await self.application.updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
