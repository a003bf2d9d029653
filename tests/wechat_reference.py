"""An independent, test-only implementation of WeChat's published safe-mode algorithm.

Written from the specification, not from bot/channels/wechat_protocol.py, with the
library's own PKCS#7 (256-bit block = WeChat's 32 bytes) so the two can check each other.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

TOKEN = "pressCentreToken2026"
APP_ID = "wx1234567890abcdef"
ENCODING_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters
ACCOUNT = "gh_0123456789ab"


def ref_key(encoding_aes_key: str = ENCODING_AES_KEY) -> bytes:
    return base64.b64decode(encoding_aes_key + "=")


def ref_sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def ref_encrypt(xml: str, app_id: str = APP_ID, key: bytes | None = None) -> str:
    key = key or ref_key()
    body = xml.encode("utf-8")
    plain = os.urandom(16) + len(body).to_bytes(4, "big") + body + app_id.encode()
    padder = padding.PKCS7(256).padder()
    padded = padder.update(plain) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(padded) + enc.finalize()).decode("ascii")


def ref_decrypt(encrypted: str, app_id: str = APP_ID, key: bytes | None = None) -> str:
    key = key or ref_key()
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = dec.update(base64.b64decode(encrypted)) + dec.finalize()
    unpadder = padding.PKCS7(256).unpadder()
    plain = unpadder.update(padded) + unpadder.finalize()
    length = int.from_bytes(plain[16:20], "big")
    assert plain[20 + length :].decode() == app_id
    return plain[20 : 20 + length].decode("utf-8")


def text_xml(openid: str, text: str, msg_id: int, create_time: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def event_xml(openid: str, event: str, create_time: int, key: str | None = None) -> str:
    key_xml = f"<EventKey><![CDATA[{key}]]></EventKey>" if key is not None else ""
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event>{key_xml}</xml>"
    )


def media_xml(openid: str, msg_type: str, msg_id: int, create_time: int, extra: str = "") -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
        f"<MediaId><![CDATA[media-1]]></MediaId>{extra}<MsgId>{msg_id}</MsgId></xml>"
    )


def location_xml(openid: str, msg_id: int, create_time: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[location]]></MsgType>"
        "<Location_X>29.0789</Location_X><Location_Y>119.6474</Location_Y><Scale>15</Scale>"
        f"<Label><![CDATA[金华市婺城区]]></Label><MsgId>{msg_id}</MsgId></xml>"
    )
