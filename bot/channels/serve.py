"""Running the bot for real: Telegram long polling, or one web server for webhooks."""

from __future__ import annotations

import asyncio
import logging
import signal

import uvicorn

from bot.app import build_app
from bot.channels.telegram import TelegramBot
from bot.channels.web import create_web_app
from bot.config import Config

log = logging.getLogger(__name__)


async def polling(config: Config, stop: asyncio.Event | None = None) -> None:
    """Long polling until SIGINT/SIGTERM (or `stop` is set)."""
    assert config.telegram_token
    stop = stop or _stop_on_signals()
    app = await build_app(config)
    telegram = TelegramBot(config.telegram_token, app.dispatcher, config.telegram_api_url)
    try:
        await telegram.start()
        log.info("polling Telegram; %d topics loaded", len(app.knowledge.topics()))
        await stop.wait()
    finally:
        await telegram.stop()
        await app.close()


async def webhook(config: Config) -> None:
    """Serve /telegram and /healthz with uvicorn until stopped."""
    server = uvicorn.Server(
        uvicorn.Config(await web_app(config), config.host, config.port, log_config=None)
    )
    await server.serve()


async def web_app(config: Config):  # type: ignore[no-untyped-def]
    """The ASGI app with the bot started and stopped by its lifespan."""
    assert config.telegram_token and config.webhook_secret
    app = await build_app(config)
    telegram = TelegramBot(
        config.telegram_token, app.dispatcher, config.telegram_api_url, webhook=True
    )
    hook_url = f"{config.webhook_url.rstrip('/')}/telegram" if config.webhook_url else None

    async def startup() -> None:
        await telegram.start(hook_url, config.webhook_secret)

    async def shutdown() -> None:
        await telegram.stop()
        await app.close()

    return create_web_app(telegram.feed, config.webhook_secret, startup, shutdown)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
