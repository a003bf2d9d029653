"""The core stays transport-agnostic: only bot/channels may import a messenger SDK."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

TRANSPORTS = {"telegram", "wechatpy", "starlette", "uvicorn", "aiohttp", "httpx"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_and_services_import_no_transport() -> None:
    outside_channels = [
        p for p in (ROOT / "bot").rglob("*.py") if "channels" not in p.relative_to(ROOT).parts
    ]
    assert len(outside_channels) > 10
    for path in outside_channels:
        assert not imported_modules(path) & TRANSPORTS, path
