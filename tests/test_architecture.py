"""The layers keep their rules: transports only in channels; the core knows no service,
feature or channel; services know no core, feature or channel; channels know no service."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

TRANSPORTS = {"telegram", "wechatpy", "starlette", "uvicorn", "aiohttp", "httpx"}
SERVICES = {"bot.knowledge", "bot.rsvp", "bot.itinerary", "bot.broadcast", "bot.staffops"}
FEATURES = {"bot.features"}
CHANNELS = {"bot.channels"}
CORE = {"bot.core"}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def files_of(package: str) -> list[Path]:
    """The Python files of a package under bot/."""
    return sorted((ROOT / package.replace(".", "/")).rglob("*.py"))


def reaches(path: Path, packages: set[str]) -> set[str]:
    """The imports of `path` that fall inside any of `packages`."""
    return {m for m in imported_modules(path) for p in packages if m == p or m.startswith(p + ".")}


def test_core_and_services_import_no_transport() -> None:
    outside_channels = [
        p for p in (ROOT / "bot").rglob("*.py") if "channels" not in p.relative_to(ROOT).parts
    ]
    assert len(outside_channels) > 10
    for path in outside_channels:
        assert not {m.split(".")[0] for m in imported_modules(path)} & TRANSPORTS, path


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("bot.core", SERVICES | FEATURES | CHANNELS | {"bot.app", "bot.storage"}),
        ("bot.knowledge", CORE | FEATURES | CHANNELS),
        ("bot.rsvp", CORE | FEATURES | CHANNELS),
        ("bot.itinerary", CORE | FEATURES | CHANNELS),
        ("bot.staffops", CORE | FEATURES | CHANNELS),
        ("bot.channels", SERVICES | FEATURES),
        ("bot.storage", FEATURES | CHANNELS),
    ],
)
def test_layer_imports_nothing_above_it(layer: str, forbidden: set[str]) -> None:
    files = files_of(layer)
    assert files, layer
    for path in files:
        assert not reaches(path, forbidden), f"{path.relative_to(ROOT)}: {reaches(path, forbidden)}"


def test_the_rule_check_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from bot.knowledge.service import KnowledgeService\nimport bot.features.ask\n")
    assert reaches(bad, SERVICES | FEATURES) == {"bot.knowledge.service", "bot.features.ask"}
