"""ruff and mypy run with the tests, so the README's one test command checks everything."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_ruff_lint_and_format_are_clean() -> None:
    lint = run("ruff", "check", "bot", "tests", "bench")
    assert lint.returncode == 0, lint.stdout
    formatting = run("ruff", "format", "--check", "bot", "tests", "bench")
    assert formatting.returncode == 0, formatting.stdout


def test_mypy_strict_is_clean_on_bot() -> None:
    result = run("mypy")
    assert result.returncode == 0, result.stdout
