"""Telegram: updates in, Bot API calls out. The only module that imports `telegram`."""

from __future__ import annotations

import asyncio
import html
import logging
import time
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
    Update,
)
from telegram.constants import MessageLimit, ParseMode
from telegram.error import Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.core.dispatcher import Dispatcher, apology, expired_button_notice, flood_notice
from bot.core.guards import FloodGuard, KeyedLocks, RecentIds, Verdict
from bot.core.payloads import MAX_PAYLOAD_BYTES, decode
from bot.core.types import Button, Channel, Incoming, Reply
from bot.i18n import DEFAULT_LANGUAGE, supported, translator
from bot.knowledge.model import LANGUAGES

log = logging.getLogger(__name__)

MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH  # 4096
# Retries after a 429 "Too Many Requests"; Telegram says how long to wait.
MAX_SEND_ATTEMPTS = 3
MAX_RETRY_WAIT_S = 30.0
SHORT_LABEL = 18  # labels up to this length go two to a row
REMINDER_POLL_S = 30.0
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

T = TypeVar("T")


def incoming(update: Update) -> Incoming | None:
    """The core's view of an update, or None for updates with nobody to answer."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    query = update.callback_query
    if query is not None:
        return Incoming(
            Channel.TELEGRAM, str(user.id), str(chat.id), "", query.data or "", None,
            user.language_code,
        )  # fmt: skip
    message = update.effective_message
    if message is None:
        return None
    return Incoming(
        Channel.TELEGRAM,
        str(user.id),
        str(chat.id),
        message.text or message.caption or "",
        None,
        str(message.message_id),
        user.language_code,
    )


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


async def with_retry(call: Callable[[], Awaitable[T]]) -> T:
    """Run a Bot API call, waiting as told on 429 a bounded number of times."""
    for attempt in range(1, MAX_SEND_ATTEMPTS + 1):
        try:
            return await call()
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
            if attempt == MAX_SEND_ATTEMPTS:
                raise
            log.warning("rate limited by Telegram; retrying in %.1f s", seconds)
            await asyncio.sleep(min(seconds, MAX_RETRY_WAIT_S))
    raise AssertionError("unreachable")


class TelegramChannel:
    """Feeds updates to the dispatcher and sends its replies back."""

    def __init__(self, dispatcher: Dispatcher, clock: Callable[[], float] = time.monotonic):
        self.dispatcher = dispatcher
        self.flood = FloodGuard(clock)
        self.seen = RecentIds()
        self.locks = KeyedLocks()

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answers one update; any failure is logged and the user gets an apology."""
        if not self.seen.first_time(update.update_id):
            log.info("duplicate update %s ignored", update.update_id)
            return
        message = incoming(update)
        if message is None:
            return
        try:
            await self._handle(update, message, context)
        except Exception:
            log.exception("update %s failed: %s", update.update_id, _describe(update))
            await self._send_quietly(context, message.chat_id, [apology(_lang(message))])

    async def _handle(
        self, update: Update, message: Incoming, context: ContextTypes.DEFAULT_TYPE
    ) -> None:
        if update.callback_query is not None:
            valid = decode(message.payload or "") is not None
            notice = None if valid else expired_button_notice(_lang(message))
            await with_retry(lambda: update.callback_query.answer(notice))  # type: ignore[union-attr]
            if not valid:
                return
        verdict = self.flood.check(message.user_id)
        if verdict is not Verdict.ALLOW:
            if verdict is Verdict.WARN:
                await self.send(context, message.chat_id, [flood_notice(_lang(message))])
            return
        async with self.locks.hold(message.chat_id):
            replies = await self.dispatcher.handle(message)
            await self.send(context, message.chat_id, replies)

    async def send(
        self, context: ContextTypes.DEFAULT_TYPE, chat_id: str, replies: Sequence[Reply]
    ) -> None:
        for reply in replies:
            to = reply.recipient
            if to is not None and to.channel is not Channel.TELEGRAM:
                continue  # another channel's user; that channel delivers it
            await send_reply(context.bot, to.chat_id if to else chat_id, reply)

    async def _send_quietly(
        self, context: ContextTypes.DEFAULT_TYPE, chat_id: str, replies: Sequence[Reply]
    ) -> None:
        try:
            await self.send(context, chat_id, replies)
        except TelegramError:
            log.warning("could not send the apology to chat %s", chat_id)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Errors raised outside our handler (network, polling) are logged, never fatal."""
        if isinstance(context.error, Forbidden):
            log.info("user blocked the bot: %s", context.error)
            return
        log.error("telegram error: %s", context.error, exc_info=context.error)


async def send_reply(bot: Bot, chat_id: str, reply: Reply) -> None:
    """One reply as Bot API calls: text (split), keyboard on the last piece, venue, file."""
    pieces = escaped_chunks(reply.text)
    markup = keyboard(reply.buttons)
    for number, piece in enumerate(pieces, start=1):
        last = number == len(pieces)
        await with_retry(
            partial(
                bot.send_message,
                chat_id=chat_id,
                text=piece,
                parse_mode=ParseMode.HTML,
                reply_markup=markup if last else None,
                link_preview_options=NO_PREVIEW,
            )
        )
    if reply.location is not None:
        where = reply.location
        await with_retry(
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
        await with_retry(partial(bot.send_document, chat_id=chat_id, document=document))


async def publish_commands(bot: Bot, dispatcher: Dispatcher) -> None:
    """The command menu in every language (and English for everyone else)."""
    for lang in (None, *LANGUAGES):
        t = translator(lang or DEFAULT_LANGUAGE)
        commands = [
            BotCommand(name, t.gettext(text)[:256]) for name, text in dispatcher.public_commands()
        ]
        await with_retry(partial(bot.set_my_commands, commands, language_code=lang))


def build_application(
    token: str,
    dispatcher: Dispatcher,
    api_url: str | None = None,
    webhook: bool = False,
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
    channel = TelegramChannel(dispatcher)
    application.add_handler(TypeHandler(Update, channel.on_update))
    application.add_error_handler(channel.on_error)
    return application


def _lang(message: Incoming) -> str:
    return supported(message.locale_hint) or DEFAULT_LANGUAGE


def _describe(update: Update) -> str:
    """The update for the log, without message text (it may hold personal data)."""
    kind = "callback" if update.callback_query else "message"
    user = update.effective_user.id if update.effective_user else None
    return f"{kind} from user {user}"


class TelegramBot:
    """The Application's lifecycle: polling, or a webhook fed by our own web server."""

    def __init__(
        self,
        token: str,
        dispatcher: Dispatcher,
        api_url: str | None = None,
        webhook: bool = False,
    ) -> None:
        self.dispatcher = dispatcher
        self.webhook = webhook
        self.application = build_application(token, dispatcher, api_url, webhook)
        self._reminders: asyncio.Task[None] | None = None

    async def start(self, webhook_url: str | None = None, secret: str | None = None) -> None:
        await self.application.initialize()
        await publish_commands(self.application.bot, self.dispatcher)
        await self.application.start()
        if not self.webhook:
            assert self.application.updater is not None
            await self.application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        elif webhook_url:
            await self.application.bot.set_webhook(
                webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES
            )
        self._reminders = asyncio.create_task(self._remind_forever())

    async def deliver_due_reminders(self) -> int:
        """Delete expired RSVP data, then send the tour reminders now due to Telegram
        users; returns how many went out."""
        if self.dispatcher.rsvp is None:
            return 0
        sent = 0
        for reply in await self.dispatcher.rsvp.housekeeping():
            if reply.recipient is None or reply.recipient.channel is not Channel.TELEGRAM:
                continue
            try:
                await send_reply(self.application.bot, reply.recipient.chat_id, reply)
                sent += 1
            except TelegramError as exc:
                log.warning("reminder to chat %s not delivered: %s", reply.recipient.chat_id, exc)
        return sent

    async def _remind_forever(self) -> None:
        while True:
            try:
                await self.deliver_due_reminders()
            except Exception:
                log.exception("reminder round failed; trying again next round")
            await asyncio.sleep(REMINDER_POLL_S)

    async def feed(self, data: object) -> None:
        """Queue one update received by the webhook (malformed JSON raises ValueError)."""
        if not isinstance(data, dict):
            raise ValueError("an update must be a JSON object")
        update = Update.de_json(data, self.application.bot)
        await self.application.update_queue.put(update)

    async def stop(self) -> None:
        if self._reminders is not None:
            self._reminders.cancel()
        if self.application.updater is not None and self.application.updater.running:
            await self.application.updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
