"""Accuracy of the answer engine on a question set in the dev-set format."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Tally:
    total: int = 0
    right: int = 0

    def add(self, ok: bool) -> None:
        self.total += 1
        self.right += ok

    def __str__(self) -> str:
        share = 100 * self.right / self.total if self.total else 0.0
        return f"{self.right}/{self.total} ({share:.1f} %)"


@dataclass
class Report:
    in_scope: Tally = field(default_factory=Tally)
    rejected: Tally = field(default_factory=Tally)
    language: Tally = field(default_factory=Tally)
    by_lang: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_style: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    errors: list[str] = field(default_factory=list)


def evaluate(rows: list[dict[str, Any]], results: list[dict[str, Any]]) -> Report:
    report = Report()
    for row, result in zip(rows, results, strict=True):
        expected = row.get("expect")
        ok = result["topic"] == expected
        (report.in_scope if expected else report.rejected).add(ok)
        report.by_lang[row.get("lang", "?")].add(ok)
        report.by_style[row.get("style", "?")].add(ok)
        if row.get("lang"):
            report.language.add(result["lang"] == row["lang"])
        if not ok or (row.get("lang") and result["lang"] != row["lang"]):
            report.errors.append(
                f"[{row.get('lang')}] {row['q'][:70]!r}: expected {expected}, "
                f"got {result['topic']} ({result['confidence']}) in {result['lang']}"
            )
    return report


def print_report(report: Report, show_errors: bool = False) -> None:
    print(f"in-scope top-1:         {report.in_scope}")
    print(f"out-of-scope rejected:  {report.rejected}")
    print(f"reply in asker's lang:  {report.language}")
    for title, table in (("by language", report.by_lang), ("by style", report.by_style)):
        print(f"\n{title}:")
        for key in sorted(table):
            print(f"  {key:14} {table[key]}")
    if show_errors and report.errors:
        print("\nwrong:")
        for line in report.errors:
            print("  " + line)
