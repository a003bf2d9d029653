"""Reading one knowledge YAML file safely: a size cap, no aliases, a line for every field.

Staff upload these files from a chat, so a file must not be able to stall or exhaust the
bot: a file over MAX_FILE_BYTES is refused before it is read, and YAML aliases (`*name`)
are refused before anything is built from them — 9 anchors of 9 aliases each ("billion
laughs", under 500 bytes) expand to 387 million items, and `&a [*a]` is endless. The
shipped knowledge files use no alias, so refusing them all costs staff nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# The largest shipped file is 17 kB; 1 MB leaves room for 60 times that and reads in ~0.1 s.
MAX_FILE_BYTES = 1_000_000

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a knowledge file, with where it is."""

    file: Path
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"

    def shown_from(self, root: Path) -> str:
        """The problem with the file named relative to the knowledge folder."""
        try:
            name = str(self.file.relative_to(root))
        except ValueError:
            name = str(self.file)
        return f"{name}:{self.line}: {self.field}: {self.message}"


class KnowledgeError(Exception):
    """Raised when the knowledge base cannot be served because it has errors."""

    def __init__(self, errors: list[Problem]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class YamlDoc:
    """A parsed file and the line of every mapping key and list item in it."""

    path: Path
    data: Any
    lines: dict[Path_, int]

    def line(self, where: Path_) -> int:
        """The line of a field, or of its nearest parent that has one."""
        while where and where not in self.lines:
            where = where[:-1]
        return self.lines.get(where, 1)

    def problem(self, where: Path_, message: str) -> Problem:
        """A problem at this field of the file."""
        return Problem(self.path, self.line(where), dotted(where), message)


def dotted(where: Path_) -> str:
    """A field path as staff read it: facets.hours.en, minutes.3."""
    return ".".join(str(p) for p in where) or "(file)"


def read_yaml(path: Path) -> YamlDoc:
    """Parse a knowledge file; KnowledgeError (one problem) if it cannot be used at all."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            megabytes = size / 1_000_000
            raise _refuse(path, 1, "(file)", f"is {megabytes:.1f} MB; a knowledge file may be "
                          f"at most {MAX_FILE_BYTES // 1_000_000} MB")  # fmt: skip
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _refuse(path, 1, "(file)", f"cannot be read: {exc}") from exc
    try:
        return _parse(path, text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = mark.line + 1 if mark else 1
        raise _refuse(path, line, "(yaml)", f"not valid YAML: {problem}") from exc


def _refuse(path: Path, line: int, field: str, message: str) -> KnowledgeError:
    return KnowledgeError([Problem(path, line, field, message)])


def _parse(path: Path, text: str) -> YamlDoc:
    # libyaml's parser when PyYAML has it: 5x faster, same nodes and line marks.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDoc(path, None, {})
        lines, alias_at = _record_lines(node)
        if alias_at is not None:
            line = _first_alias_line(text)
            raise _refuse(path, line, dotted(alias_at), "YAML aliases (*name) are not allowed "
                          "in knowledge files; write the text out in full")  # fmt: skip
        return YamlDoc(path, loader.construct_document(node), lines)
    finally:
        loader.dispose()


def _record_lines(root: yaml.Node) -> tuple[dict[Path_, int], Path_ | None]:
    """The line of every key and item, and the first field that reuses a node (an alias).
    Iterative and visiting each node once, so neither deep nor aliased files can blow up."""
    lines: dict[Path_, int] = {}
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, Path_]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            return lines, path
        seen.add(id(node))
        lines.setdefault(path, node.start_mark.line + 1)
        stack.extend(reversed(_children(node, path, lines)))
    return lines, None


def _children(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> list[tuple[Any, Path_]]:
    if isinstance(node, yaml.SequenceNode):
        return [(item, (*path, index)) for index, item in enumerate(node.value)]
    if not isinstance(node, yaml.MappingNode):
        return []
    children: list[tuple[Any, Path_]] = []
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if (*path, key) in lines:
            # A repeated key silently overwrites the first in YAML; staff would never notice.
            lines[(*path, key, "__duplicate__")] = key_node.start_mark.line + 1
        lines[(*path, key)] = key_node.start_mark.line + 1
        children.append((value_node, (*path, key)))
    return children


def _first_alias_line(text: str) -> int:
    """The line of the first `*name` (the composed node only knows its anchor's line)."""
    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for event in yaml.parse(text, Loader=loader_class):
        if isinstance(event, yaml.AliasEvent) and event.start_mark is not None:
            return int(event.start_mark.line) + 1
    return 1


def mapping(doc: YamlDoc, where: Path_, problems: list[Problem], what: str) -> dict[Any, Any]:
    """The mapping at a field ({} for an empty field); a problem if it is anything else."""
    value = doc.data
    for key in where:
        value = value.get(key) if isinstance(value, dict) else None
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(doc.problem(where, f"must be a mapping of {what}"))
        return {}
    return value


def language_lists(
    doc: YamlDoc, where: Path_, problems: list[Problem], languages: tuple[str, ...]
) -> dict[str, list[str]]:
    """A mapping of language code to a list of phrases (en: [...], zh: [...])."""
    out: dict[str, list[str]] = {}
    for lang, items in mapping(doc, where, problems, "language code to phrases").items():
        if lang not in languages:
            problems.append(
                doc.problem(
                    (*where, lang), f"unknown language {lang!r}; use {', '.join(languages)}"
                )
            )
        elif items is not None and not isinstance(items, list):
            problems.append(doc.problem((*where, lang), "must be a list of phrases [a, b, …]"))
        else:
            out[str(lang)] = [str(item) for item in items or ()]
    return out
