"""Accuracy of the answer engine on a question set in the dev-set format."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Tally:
    total: int = 0
    right: int = 0

    def add(self, ok: bool) -> None:
        self.total += 1
        self.right += ok

    @property
    def share(self) -> float:
        return 100 * self.right / self.total if self.total else 0.0

    def __str__(self) -> str:
        return f"{self.right}/{self.total} ({self.share:.1f} %)"


@dataclass
class Report:
    in_scope: Tally = field(default_factory=Tally)
    rejected: Tally = field(default_factory=Tally)
    followups: Tally = field(default_factory=Tally)  # rows with `after`, in or out of scope
    language: Tally = field(default_factory=Tally)
    by_lang: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_style: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


def evaluate(rows: list[dict[str, Any]], results: list[dict[str, Any]]) -> Report:
    report = Report()
    for row, result in zip(rows, results, strict=True):
        expected = row.get("expect")
        ok = result["topic"] == expected
        if row.get("after"):
            report.followups.add(ok)
        else:
            (report.in_scope if expected else report.rejected).add(ok)
        report.by_lang[row.get("lang") or "?"].add(ok)
        report.by_style[row.get("style") or "?"].add(ok)
        lang_ok = not row.get("lang") or result["lang"] == row["lang"]
        if row.get("lang"):
            report.language.add(lang_ok)
        if not ok:
            report.confusion[(str(expected), str(result["topic"]))] += 1
        if not ok or not lang_ok:
            after = f" (after {row['after'][:40]!r})" if row.get("after") else ""
            report.errors.append(
                f"[{row.get('lang')}] {row['q'][:70]!r}{after}: expected {expected}, "
                f"got {result['topic']} ({result['confidence']}) in {result['lang']}"
            )
    return report


def print_report(report: Report, show_errors: bool = False) -> None:
    print(f"in-scope top-1:         {report.in_scope}")
    print(f"out-of-scope rejected:  {report.rejected}")
    print(f"follow-ups:             {report.followups}")
    print(f"reply in asker's lang:  {report.language}")
    for title, table in (("by language", report.by_lang), ("by style", report.by_style)):
        print(f"\n{title}:")
        for key in sorted(table):
            print(f"  {key:14} {table[key]}")
    if report.confusion:
        print("\nconfusions (expected -> got):")
        for (expected, got), count in report.confusion.most_common():
            print(f"  {count:3}  {expected} -> {got}")
    if show_errors and report.errors:
        print("\nwrong:")
        for line in report.errors:
            print("  " + line)
