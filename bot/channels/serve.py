"""Running the bot for real: Telegram long polling, or one web server for every webhook."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from bot.app import App, build_app
from bot.channels.telegram import TelegramBot
from bot.channels.web import create_web_app, telegram_routes
from bot.channels.wechat import WeChatChannel, WeChatConfig
from bot.channels.wechat_api import WeChatApi
from bot.config import Config, ConfigError
from bot.core.delivery import Sender
from bot.core.types import Channel
from bot.runtime import Jobs
from bot.storage import SqliteTokenCache

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class WebChannel:
    """What a channel brings to the web process: its routes, its Sender, start and stop."""

    routes: Sequence[BaseRoute]
    sender: Sender
    start: Hook
    stop: Hook


async def polling(config: Config, stop: asyncio.Event | None = None) -> None:
    """Long polling until SIGINT/SIGTERM (or `stop` is set)."""
    assert config.telegram_token
    stop = stop or _stop_on_signals()
    app = await build_app(config)
    telegram = TelegramBot(config.telegram_token, app.handle, app.dispatcher.public_commands(),
                           config.telegram_api_url, delivered=app.delivered)  # fmt: skip
    jobs = Jobs(app, {telegram.sender.channel: telegram.sender})
    try:
        await telegram.start()
        jobs.start()
        log.info("polling Telegram; %d topics loaded", len(app.knowledge.topics()))
        await stop.wait()
    finally:
        await jobs.stop()
        await telegram.stop()
        await app.close()


async def webhook(config: Config) -> None:
    """Serve every channel's routes and /healthz with uvicorn until stopped."""
    server = uvicorn.Server(
        uvicorn.Config(await web_app(config), config.host, config.port, log_config=None)
    )
    await server.serve()


async def web_app(config: Config) -> Starlette:
    """The ASGI app: every configured channel's routes on one server, the bot and its jobs
    started and stopped by its lifespan."""
    if not config.telegram_token and not config.wechat:
        raise ConfigError("--webhook needs TELEGRAM_TOKEN or WECHAT_TOKEN")
    if config.telegram_token and not config.webhook_secret:
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET must be set for the Telegram webhook")
    app = await build_app(config)
    channels = [c for c in (telegram_web(config, app), wechat_web(config, app)) if c]
    jobs = Jobs(app, {c.sender.channel: c.sender for c in channels})

    async def startup() -> None:
        for channel in channels:
            await channel.start()
        jobs.start()

    async def shutdown() -> None:
        await jobs.stop()
        for channel in channels:
            await channel.stop()
        await app.close()

    return create_web_app([r for c in channels for r in c.routes], startup, shutdown)


def telegram_web(config: Config, app: App) -> WebChannel | None:
    """POST /telegram, when a token is configured (the webhook secret is then required)."""
    if not config.telegram_token or not config.webhook_secret:
        return None
    secret = config.webhook_secret
    telegram = TelegramBot(config.telegram_token, app.handle, app.dispatcher.public_commands(),
                           config.telegram_api_url, webhook=True,
                           delivered=app.delivered)  # fmt: skip
    hook_url = f"{config.webhook_url.rstrip('/')}/telegram" if config.webhook_url else None

    async def start() -> None:
        await telegram.start(hook_url, secret)

    routes = telegram_routes(telegram.feed, secret)
    return WebChannel(routes, telegram.sender, start, telegram.stop)


def wechat_api(config: Config, app: App) -> WeChatApi:
    """The Official Account API client, its access token shared through the store."""
    cache = SqliteTokenCache(app.db, config.wechat_app_id)
    return WeChatApi(config.wechat_app_id, config.wechat_app_secret, cache, config.wechat_api_url)


def wechat_web(config: Config, app: App) -> WebChannel | None:
    """GET/POST /wechat, when the Official Account is configured."""
    if not config.wechat_token:
        return None
    settings = WeChatConfig(config.wechat_token, config.wechat_app_id, config.wechat_aes_key,
                            config.wechat_app_secret, config.wechat_api_url)  # fmt: skip
    api = wechat_api(config, app)
    people = _WeChatPeople(app)
    channel = WeChatChannel(settings, api, app.handle, people.unsubscribe, people.language,
                            last_seen=people.last_seen, delivered=app.delivered)  # fmt: skip

    async def start() -> None:
        log.info("serving WeChat at /wechat (safe mode: %s)", config.wechat_aes_key is not None)

    async def stop() -> None:
        await channel.drain()
        await api.close()

    return WebChannel(channel.routes(), channel.sender, start, stop)


class _WeChatPeople:
    """What the WeChat channel asks the store about a person, by openid."""

    def __init__(self, app: App) -> None:
        self.conversations = app.repos.conversations
        self.subscribers = app.repos.subscribers

    async def unsubscribe(self, openid: str) -> None:
        """Unfollowing the account ends the announcements."""
        await self.subscribers.unsubscribe(Channel.WECHAT.value, openid)

    async def language(self, openid: str) -> str:
        """The saved choice, else the language of the last reply, else English."""
        state = await self.conversations.get(Channel.WECHAT.value, openid)
        return state.lang or state.last_lang or "en"

    async def last_seen(self, openid: str) -> float | None:
        """When the person's last message was handled (the pipeline stamps each turn)."""
        state = await self.conversations.get(Channel.WECHAT.value, openid)
        return state.updated_at or None


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
