"""Start-up checks at the network edge: is the Bot API there, and does it take the token?"""

from __future__ import annotations

import asyncio

import httpx
from telegram.error import TelegramError

from bot.config import ConfigError

PUBLIC_API = "https://api.telegram.org"
TIMEOUT_S = 4.0  # the whole check; a start-up failure must be reported within 5 s


class BotApiError(ConnectionError):
    """The Telegram Bot API could not be reached or refused to start the bot."""


async def check_bot_api(token: str, api_url: str | None = None) -> None:
    """Call getMe once; raise BotApiError, or ConfigError when the token is refused."""
    base = (api_url or PUBLIC_API).rstrip("/")
    try:
        response = await asyncio.wait_for(_get_me(base, token), TIMEOUT_S)
    except (httpx.HTTPError, TimeoutError) as exc:
        reason = str(exc).replace(token, "[REDACTED]") or "no answer"
        raise BotApiError(
            f"cannot reach the Telegram Bot API at {base} (TELEGRAM_API_URL): "
            f"{type(exc).__name__}: {reason}"
        ) from None
    if response.status_code in (401, 404):
        raise ConfigError(f"TELEGRAM_TOKEN was refused by the Bot API at {base}")
    if response.status_code != 200:
        raise BotApiError(f"the Telegram Bot API at {base} answered HTTP {response.status_code}")


async def _get_me(base: str, token: str) -> httpx.Response:
    """One getMe request, with its own short client."""
    async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
        return await client.post(f"{base}/bot{token}/getMe")


def as_start_up_error(exc: Exception) -> Exception:
    """A Telegram error raised while starting, as one BotApiError; others unchanged."""
    if isinstance(exc, TelegramError):
        return BotApiError(f"Telegram Bot API: {type(exc).__name__}: {exc}")
    return exc
