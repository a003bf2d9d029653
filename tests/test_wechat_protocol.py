"""WeChat protocol: signatures, safe-mode crypto against an independent implementation, XML."""

from __future__ import annotations

import hashlib

import pytest

from bot.channels import wechat_protocol as wp
from bot.core.types import Attachment, Button, Location, Reply
from tests.wechat_reference import (
    APP_ID,
    ENCODING_AES_KEY,
    TOKEN,
    location_xml,
    media_xml,
    ref_decrypt,
    ref_encrypt,
    ref_key,
    ref_sign,
    text_xml,
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol3;</Content><MsgId>1</MsgId></xml>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"""


def test_the_published_url_check_example_signs() -> None:
    # WeChat's documented example: sorted and joined, the three become this one string.
    joined = hashlib.sha1(b"15147114921714036504AAAAA").hexdigest()
    assert wp.signature("AAAAA", "1714036504", "1514711492") == joined
    assert wp.check_signature(TOKEN, "1", "2", ref_sign(TOKEN, "1", "2"))
    assert not wp.check_signature(TOKEN, "1", "2", ref_sign(TOKEN, "1", "3"))
    assert not wp.check_signature(TOKEN, "1", "2", "")


def test_safe_mode_both_ways_with_the_reference_implementation() -> None:
    key = wp.aes_key(ENCODING_AES_KEY)
    assert key == ref_key()
    xml = text_xml("o-user", "义乌 market ]]> hours?", 1, 1700000000)
    assert wp.decrypt(key, ref_encrypt(xml), APP_ID) == xml
    assert ref_decrypt(wp.encrypt(key, xml, APP_ID)) == xml
    for size in range(0, 70):  # every padding length, including a whole extra block
        assert ref_decrypt(wp.encrypt(key, "x" * size, APP_ID)) == "x" * size


def test_decrypt_refuses_wrong_app_id_padding_and_junk() -> None:
    key = wp.aes_key(ENCODING_AES_KEY)
    with pytest.raises(wp.ProtocolError):
        wp.decrypt(key, ref_encrypt("<xml/>", app_id="wxOTHER"), APP_ID)
    with pytest.raises(wp.ProtocolError):
        wp.decrypt(key, "not base64!!", APP_ID)
    with pytest.raises(wp.ProtocolError):
        wp.decrypt(key, "QUJD", APP_ID)  # 3 bytes, not a block
    with pytest.raises(wp.ProtocolError):
        wp.unpad(b"abc" + bytes([5]) * 2)
    with pytest.raises(ValueError):
        wp.aes_key("short")


def test_msg_signature_covers_the_ciphertext() -> None:
    sig = ref_sign(TOKEN, "10", "n", "CIPHER")
    assert wp.check_msg_signature(TOKEN, "10", "n", "CIPHER", sig)
    assert not wp.check_msg_signature(TOKEN, "10", "n", "CIPHEr", sig)


def test_messages_parse_into_typed_fields() -> None:
    text = wp.parse_message(text_xml("o-1", " hello ", 77, 1700000000).encode())
    fields = (text.from_user, text.msg_type, text.content, text.msg_id)
    assert fields == ("o-1", "text", "hello", "77")
    assert text.dedupe_key == "77"
    place = wp.parse_message(location_xml("o-1", 5, 1700000000).encode())
    assert place.location == wp.GeoPoint(29.0789, 119.6474, "金华市婺城区")
    voice = wp.parse_message(media_xml("o-1", "voice", 6, 1, "<Format>amr</Format>").encode())
    assert (voice.msg_type, voice.media_id) == ("voice", "media-1")


@pytest.mark.parametrize(
    "body",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, b"<xml><a>", b"not xml", b"<other/>",
     b"<xml><FromUserName>x</FromUserName></xml>", b"<xml>" + b" " * wp.MAX_XML_BYTES + b"</xml>"],
)  # fmt: skip
def test_dangerous_or_malformed_xml_is_refused(body: bytes) -> None:
    with pytest.raises(wp.ProtocolError):
        wp.parse_message(body)


def test_reply_text_stays_within_the_limit_and_cdata_safe() -> None:
    long = ("Yiwu market opens at nine. " * 200).strip()
    fitted = wp.fit_text(long)
    assert len(fitted.encode()) <= wp.TEXT_LIMIT_BYTES and fitted.endswith("…")
    assert long.startswith(fitted[:-1] + " ")  # cut at a word
    chinese = "义乌国际商贸城" * 400
    assert len(wp.fit_text(chinese).encode()) <= wp.TEXT_LIMIT_BYTES
    pieces = wp.split_text(long)
    assert all(len(p.encode()) <= wp.TEXT_LIMIT_BYTES for p in pieces)
    assert " ".join(pieces) == long
    xml = wp.text_reply_xml("o-1", "gh", "a ]]> b\x00", 1)
    assert wp.parse_fields(xml.encode())["Content"] == "a ]]> b"


def test_render_numbers_buttons_and_describes_places_and_files() -> None:
    reply = Reply(
        "Pick one",
        "en",
        buttons=(Button("Wuzhou", "topic:v1:wuzhou"), Button("Yiwu", "topic:v1:yiwu")),
        location=Location(29.1, 119.6, "Wuzhou", "Jinhua"),
        attachment=Attachment("plan.ics", b"x", "text/calendar"),
    )
    text = wp.render(reply)
    assert "  1. Wuzhou" in text and "  2. Yiwu" in text
    assert "uri.amap.com" in text and "openstreetmap" in text and "📎 plan.ics" in text
