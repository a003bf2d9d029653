"""Running the bot for real: Telegram long polling, or one web server for every webhook."""

from __future__ import annotations

import asyncio
import logging
import signal

import uvicorn
from starlette.applications import Starlette

from bot.app import build_app
from bot.channels.telegram import TelegramBot
from bot.channels.web import create_web_app, telegram_routes
from bot.config import Config
from bot.runtime import Jobs

log = logging.getLogger(__name__)


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
    """The ASGI app with the bot and its jobs started and stopped by its lifespan."""
    assert config.telegram_token and config.webhook_secret
    app = await build_app(config)
    telegram = TelegramBot(config.telegram_token, app.handle, app.dispatcher.public_commands(),
                           config.telegram_api_url, webhook=True,
                           delivered=app.delivered)  # fmt: skip
    jobs = Jobs(app, {telegram.sender.channel: telegram.sender})
    hook_url = f"{config.webhook_url.rstrip('/')}/telegram" if config.webhook_url else None

    async def startup() -> None:
        await telegram.start(hook_url, config.webhook_secret)
        jobs.start()

    async def shutdown() -> None:
        await jobs.stop()
        await telegram.stop()
        await app.close()

    routes = telegram_routes(telegram.feed, config.webhook_secret)
    return create_web_app(routes, startup, shutdown)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
