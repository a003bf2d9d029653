"""The loader reports broken files with file, line and field, and accepts the real base."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.knowledge.loader import KnowledgeError, check_knowledge, load_topics, topic_files
from bot.knowledge.model import LANGUAGES, REQUIRED_ROUTE_FACETS
from tests.conftest import FIXTURE_KB, KNOWLEDGE, ROOT

REQUIRED_IDS = {
    "wuzhou-ancient-city", "yiwu-trade-city", "shangshan-site", "nev-town", "intermodal-port",
    "jimingshan-community", "lizu-village", "jhicc", "explore-jinhua", "ambassadors",
    "ai-jinhua-videos", "observation-points", "belt-road-campaign", "communication-alliance",
    "cultural-exchange-bases", "getting-to-jinhua", "interview-requests", "payments", "contact",
}  # fmt: skip


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    """A writable copy of the small fixture knowledge base."""
    shutil.copytree(FIXTURE_KB, tmp_path / "kb")
    return tmp_path / "kb"


def write(kb: Path, relative: str, text: str) -> Path:
    path = kb / relative
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def only_error(kb: Path) -> str:
    report = check_knowledge(kb)
    assert len(report.errors) >= 1, "expected an error"
    return str(report.errors[0])


def test_real_knowledge_base_has_every_topic_in_every_language() -> None:
    report = check_knowledge(KNOWLEDGE)
    assert report.errors == []
    by_id = {t.id: t for t in report.topics}
    assert set(by_id) >= REQUIRED_IDS
    for topic in report.topics:
        for field in (topic.title, topic.answer, topic.questions):
            assert set(field) == set(LANGUAGES), topic.id
        for facet, texts in topic.facets.items():
            assert set(texts) == set(LANGUAGES), (topic.id, facet)
        if topic.kind == "route":
            assert set(REQUIRED_ROUTE_FACETS) <= set(topic.facets), topic.id


def test_real_knowledge_base_matches_the_published_json_schema() -> None:
    schema = json.loads((KNOWLEDGE / "schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in topic_files(KNOWLEDGE):
        jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)


def test_bad_yaml_names_file_and_line(kb: Path) -> None:
    path = write(kb, "routes/broken.yaml", "id: broken\nkind: route\ntitle: {en: [unclosed\n")
    message = only_error(kb)
    assert message.startswith(f"{path}:")
    assert "not valid YAML" in message


def test_missing_field_is_named(kb: Path) -> None:
    path = kb / "routes" / "shangshan-site.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["answer"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert "missing required field 'answer'" in only_error(kb)


def test_unknown_language_names_line_and_field(kb: Path) -> None:
    path = kb / "routes" / "shangshan-site.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    index = lines.index("answer:")
    lines.insert(index + 1, "  de: Eine Fundstätte.")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = check_knowledge(kb)
    problem = report.errors[0]
    assert (problem.file, problem.line, problem.field) == (path, index + 2, "answer.de")
    assert "unknown language 'de'" in problem.message


def test_missing_language_is_reported(kb: Path) -> None:
    path = kb / "routes" / "shangshan-site.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["facets"]["hours"]["sw"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    report = check_knowledge(kb)
    assert [(p.field, p.message) for p in report.errors] == [
        ("facets.hours", "missing the 'sw' text")
    ]


def test_duplicate_id_is_an_error(kb: Path) -> None:
    source = (kb / "routes" / "shangshan-site.yaml").read_text(encoding="utf-8")
    (kb / "routes" / "copy.yaml").write_text(source, encoding="utf-8")
    messages = [p.message for p in check_knowledge(kb).errors]
    assert any("duplicate id 'shangshan-site'" in m for m in messages)


def test_alias_of_two_topics_is_an_error(kb: Path) -> None:
    source = (kb / "routes" / "shangshan-site.yaml").read_text(encoding="utf-8")
    (kb / "routes" / "copy.yaml").write_text(source.replace("id: shangshan-site", "id: copy"))
    messages = [p.message for p in check_knowledge(kb).errors]
    assert any("an alias may belong to one topic only" in m for m in messages)


def test_alias_shared_across_scripts_and_case_is_caught(kb: Path) -> None:
    path = kb / "routes" / "yiwu-trade-city.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["aliases"].append("SHANGSHAN")
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    [problem] = check_knowledge(kb).errors
    assert problem.field == "aliases" and "shangshan-site" in problem.message
    assert "SHANGSHAN" in path.read_text(encoding="utf-8").splitlines()[problem.line - 1]


def test_repeated_key_is_an_error(kb: Path) -> None:
    path = kb / "routes" / "shangshan-site.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "visit_minutes: 90\n", encoding="utf-8")
    assert "appears twice" in only_error(kb)


def test_route_without_required_facet_and_bad_coordinates(kb: Path) -> None:
    path = kb / "routes" / "shangshan-site.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["facets"]["interview_angles"]
    data["location"]["lat"] = 123
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    fields = {p.field: p.message for p in check_knowledge(kb).errors}
    assert "interview_angles" in fields["facets"]
    assert "from -90 to 90" in fields["location.lat"]


def test_load_topics_raises_with_every_error(kb: Path) -> None:
    write(kb, "faq/empty.yaml", "id: empty\n")
    with pytest.raises(KnowledgeError) as raised:
        load_topics(kb)
    assert len(raised.value.errors) >= 6  # kind, title, aliases, questions, answer, facets
    assert all(e.file.name == "empty.yaml" for e in raised.value.errors)


def test_todo_lines_are_warnings_not_errors(kb: Path) -> None:
    path = kb / "faq" / "getting-to-jinhua.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "todo: [Confirm the airport bus.]\n")
    report = check_knowledge(kb)
    assert report.ok
    assert any("Confirm the airport bus" in w.message for w in report.warnings)


def test_knowledge_files_never_hold_invented_contact_details() -> None:
    """Phone numbers are placeholders until the press office publishes them."""
    import re

    phone = re.compile(r"(?:\+86[\s-]?)?\b(?:0579|1[3-9]\d)[\s-]?\d{4}[\s-]?\d{4}\b")
    for path in topic_files(KNOWLEDGE):
        assert not phone.search(path.read_text(encoding="utf-8")), path
    assert (ROOT / "knowledge" / "schema.json").exists()
