"""WeChat Official Account API client: access token, customer-service messages, menu, media."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from bot.core.delivery import SENT, Delivery, SendResult

log = logging.getLogger(__name__)

API_URL = "https://api.weixin.qq.com"
TOKEN_MARGIN_SECONDS = 300.0  # refresh this long before WeChat says the token expires
REFRESH_ERRCODES = frozenset({40001, 42001, 40014})  # invalid, expired, malformed token
OUTSIDE_WINDOW_ERRCODES = frozenset({45015})  # no reply within 48 h of their last message
BLOCKED_ERRCODES = frozenset({43004, 43019, 40003})  # unsubscribed, blacklisted, bad openid
RETRY_AFTER_SECONDS = {-1: 2.0, 45047: 60.0, 45009: 3600.0}  # busy, per-user cap, daily quota
MENU_TOP_MAX, MENU_SUB_MAX = 3, 5
MENU_TOP_NAME_BYTES, MENU_SUB_NAME_BYTES, MENU_KEY_BYTES = 16, 60, 128


class WeChatApiError(Exception):
    """An errcode WeChat answered with, or a response that was not its JSON."""

    def __init__(self, errcode: int, errmsg: str = "") -> None:
        super().__init__(f"WeChat errcode {errcode}: {errmsg}")
        self.errcode = errcode


class MenuError(ValueError):
    """A menu that breaks WeChat's limits; nothing was sent."""


# token cache --------------------------------------------------------------------------


class TokenCache(Protocol):
    """Where the access token lives, so several processes can share one."""

    async def get(self) -> tuple[str, float] | None:
        """The cached (token, expires_at as epoch seconds), or None."""
        ...

    async def put(self, token: str, expires_at: float) -> None:
        """Remember a fresh token."""
        ...


class MemoryTokenCache:
    """A token cache for one process."""

    def __init__(self) -> None:
        self._entry: tuple[str, float] | None = None

    async def get(self) -> tuple[str, float] | None:
        """The cached token and its expiry, if any."""
        return self._entry

    async def put(self, token: str, expires_at: float) -> None:
        """Keep the token until replaced."""
        self._entry = (token, expires_at)


# menu ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MenuButton:
    """A menu entry: a CLICK with `key`, a link with `url`, or a group of `sub` entries."""

    name: str
    key: str | None = None
    url: str | None = None
    sub: tuple[MenuButton, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        """The button as /cgi-bin/menu/create wants it."""
        if self.sub:
            return {"name": self.name, "sub_button": [b.as_json() for b in self.sub]}
        if self.url:
            return {"type": "view", "name": self.name, "url": self.url}
        return {"type": "click", "name": self.name, "key": self.key or ""}


def menu_problems(buttons: Sequence[MenuButton]) -> list[str]:
    """Every way the menu breaks WeChat's limits (empty when it is fine)."""
    problems = [] if 1 <= len(buttons) <= MENU_TOP_MAX else [f"{len(buttons)} top-level buttons"]
    for top in buttons:
        problems += _button_problems(top, MENU_TOP_NAME_BYTES)
        if len(top.sub) > MENU_SUB_MAX:
            problems.append(f"{top.name!r} has {len(top.sub)} sub-buttons")
        for sub in top.sub:
            problems += _button_problems(sub, MENU_SUB_NAME_BYTES)
            if sub.sub:
                problems.append(f"{sub.name!r} nests a third level")
    return problems


def _button_problems(button: MenuButton, name_bytes: int) -> list[str]:
    problems = []
    if not button.name or len(button.name.encode()) > name_bytes:
        problems.append(f"name {button.name!r} is empty or over {name_bytes} bytes")
    if not button.sub and not button.url and not button.key:
        problems.append(f"{button.name!r} has no key, url or sub-buttons")
    if button.key and len(button.key.encode()) > MENU_KEY_BYTES:
        problems.append(f"key of {button.name!r} is over {MENU_KEY_BYTES} bytes")
    return problems


def menu_from_commands(
    commands: Sequence[tuple[str, str]],
    translate: Callable[[str], str],
    top: Sequence[str] = ("routes", "tours"),
) -> tuple[MenuButton, ...]:
    """A menu from (command, description): `top` as buttons, the rest in a "☰" group."""
    described = dict(commands)
    main = [_command_button(n, translate(described[n]), MENU_TOP_NAME_BYTES) for n in top
            if n in described]  # fmt: skip
    rest = [n for n, _ in commands if n not in top][:MENU_SUB_MAX]
    more = tuple(_command_button(n, translate(described[n]), MENU_SUB_NAME_BYTES) for n in rest)
    return (*main, MenuButton("☰", sub=more)) if more else tuple(main)


def _command_button(name: str, label: str, name_bytes: int) -> MenuButton:
    """A CLICK button sending /name, labelled in the language if it fits."""
    label = label[:1].upper() + label[1:]
    fits = 0 < len(label.encode()) <= name_bytes
    return MenuButton(label if fits else f"/{name}", key=f"/{name}")


# the client ---------------------------------------------------------------------------


def send_result(errcode: int) -> SendResult:
    """How the outbox should treat a custom/send errcode."""
    if errcode == 0:
        return SENT
    if errcode in OUTSIDE_WINDOW_ERRCODES:
        return SendResult(Delivery.OUTSIDE_WINDOW, reason=f"errcode {errcode}")
    if errcode in BLOCKED_ERRCODES:
        return SendResult(Delivery.BLOCKED, reason=f"errcode {errcode}")
    if errcode in RETRY_AFTER_SECONDS:
        wait = RETRY_AFTER_SECONDS[errcode]
        return SendResult(Delivery.RETRY, retry_after=wait, reason=f"errcode {errcode}")
    return SendResult(Delivery.FAILED, reason=f"errcode {errcode}")


class WeChatApi:
    """The few Official Account API calls the bot makes, with a shared access token."""

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        cache: TokenCache | None = None,
        base_url: str = API_URL,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_id = app_id
        self._secret = app_secret
        self._cache = cache or MemoryTokenCache()
        self._client = client or httpx.AsyncClient(base_url=base_url, timeout=10.0)
        self._clock = clock
        self._token_lock = asyncio.Lock()

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def token(self, stale: str | None = None) -> str:
        """A valid access token: cached, or fetched once for all concurrent callers."""
        async with self._token_lock:
            cached = await self._cache.get()
            if cached and cached[0] != stale and cached[1] - TOKEN_MARGIN_SECONDS > self._clock():
                return cached[0]
            return await self._fetch_token()

    async def _fetch_token(self) -> str:
        params = {"grant_type": "client_credential", "appid": self.app_id, "secret": self._secret}
        data = _checked(await self._client.get("/cgi-bin/token", params=params))
        token, lifetime = str(data["access_token"]), float(data.get("expires_in", 7200))
        await self._cache.put(token, self._clock() + lifetime)
        log.info("fetched a WeChat access token valid for %.0f s", lifetime)
        return token

    async def call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST JSON with the token; a rejected token is refreshed and the call made once more."""
        token = await self.token()
        try:
            return await self._post(path, token, payload)
        except WeChatApiError as exc:
            if exc.errcode not in REFRESH_ERRCODES:
                raise
            log.info("WeChat refused the access token (errcode %s); refreshing", exc.errcode)
            return await self._post(path, await self.token(stale=token), payload)

    async def _post(self, path: str, token: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(payload, ensure_ascii=False).encode()  # WeChat shows \u escapes as is
        headers = {"Content-Type": "application/json; charset=utf-8"}
        response = await self._client.post(
            path, params={"access_token": token}, content=body, headers=headers
        )
        return _checked(response)

    async def send_text(self, openid: str, text: str) -> SendResult:
        """One customer-service text message, its errcode mapped to a SendResult."""
        payload = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        return await self._send(payload)

    async def send_image(self, openid: str, media_id: str) -> SendResult:
        """One customer-service picture, from an uploaded media id."""
        payload = {"touser": openid, "msgtype": "image", "image": {"media_id": media_id}}
        return await self._send(payload)

    async def _send(self, payload: dict[str, Any]) -> SendResult:
        try:
            await self.call("/cgi-bin/message/custom/send", payload)
        except WeChatApiError as exc:
            return send_result(exc.errcode)
        except httpx.HTTPError as exc:
            log.warning("WeChat custom/send failed: %s", type(exc).__name__)
            return SendResult(Delivery.RETRY, retry_after=5.0, reason=type(exc).__name__)
        return SENT

    async def create_menu(self, buttons: Sequence[MenuButton]) -> None:
        """Publish the menu; MenuError before any call if it breaks WeChat's limits."""
        problems = menu_problems(buttons)
        if problems:
            raise MenuError("; ".join(problems))
        await self.call("/cgi-bin/menu/create", {"button": [b.as_json() for b in buttons]})

    async def upload_media(self, kind: str, filename: str, content: bytes, mime: str) -> str:
        """Upload a temporary file (image, voice, video, thumb); its media id."""
        token = await self.token()
        files = {"media": (filename, content, mime)}
        params = {"access_token": token, "type": kind}
        response = await self._client.post("/cgi-bin/media/upload", params=params, files=files)
        return str(_checked(response)["media_id"])


def _checked(response: httpx.Response) -> dict[str, Any]:
    """The JSON of a WeChat answer; WeChatApiError for an errcode or anything else."""
    try:
        data = response.json()
    except ValueError:
        raise WeChatApiError(-2, f"HTTP {response.status_code}, not JSON") from None
    if not isinstance(data, dict):
        raise WeChatApiError(-2, "not a JSON object")
    errcode = int(data.get("errcode") or 0)
    if errcode:
        raise WeChatApiError(errcode, str(data.get("errmsg", "")))
    return data
