"""The codebook file format: round trips, and every validation rule naming field and line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.codebooks.format import (
    CodebookFormatError,
    CodebookSpec,
    FormatIssue,
    MarkerSpec,
    ScaleSpec,
    dump_codebook,
    load_codebook,
    validate_codebook,
)

BASE = """\
format: coding-platform/codebook
format_version: 1
key: demo
name: Demo coding system
version: "1.0"
source: Written for the tests.
licence: CC0-1.0
description: A small but complete codebook.
partial: false
segment_length_seconds: 60
scales:
  - code: approach
    name: Approach
    group: secure
  - code: retreat
    name: Retreat
    group: insecure
markers:
  - code: m01
    number: 1
    name: Asks for help
    scale: approach
    unit: patient_turn
    value_kind: presence
    shortcut: a
  - code: m02
    number: 2
    name: Changes topic
    scale: retreat
  - code: tension
    name: Tension in the segment
    unit: segment
    value_kind: rating
    rating_min: 1
    rating_max: 5
rating_items:
  - code: approach_score
    name: Approach score
    scale: approach
    level: session
    min: 1
    max: 9
    anchors:
      1: Absent
      9: Pervasive
  - code: retreat_score
    name: Retreat score
    scale: retreat
    min: 1
    max: 9
classifications:
  - code: style
    name: Style
    categories:
      - code: open
        name: Open
      - code: closed
        name: Closed
    derivation:
      rule: highest_scale
      source: ratings
      scale_to_category:
        approach: open
        retreat: closed
      tie: unclassified
"""


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def line_of(text: str, fragment: str) -> int:
    for number, line in enumerate(text.split("\n"), start=1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} not in text")


def issues_of(text: str, filename: str = "demo.yaml") -> list[FormatIssue]:
    with pytest.raises(CodebookFormatError) as caught:
        load_codebook(text, filename=filename)
    return caught.value.issues


def assert_issue(issues: list[FormatIssue], field: str, line: int | None, words: str) -> None:
    found = [i for i in issues if i.field == field]
    assert found, f"no issue for {field}: {[str(i) for i in issues]}"
    assert any(i.line == line and words in i.message for i in found), [str(i) for i in found]


# --------------------------------------------------------------------------- round trips


def test_base_example_loads_into_specs():
    spec = load_codebook(BASE, filename="demo.yaml")
    assert spec.key == "demo" and spec.version == "1.0"
    assert spec.markers[0] == MarkerSpec(
        code="m01", name="Asks for help", number=1, scale="approach", shortcut="a"
    )
    assert spec.markers[2].value_kind == "rating" and spec.markers[2].rating_max == 5
    assert spec.rating_items[0].anchors == {1: "Absent", 9: "Pervasive"}
    assert spec.rating_items[1].level == "session" and spec.rating_items[1].required
    derivation = spec.classifications[0].derivation
    assert derivation is not None and derivation.tie == "unclassified"
    assert derivation.scale_to_category == {"approach": "open", "retreat": "closed"}


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_dump_then_load_gives_the_same_spec(fmt):
    spec = load_codebook(BASE, filename="demo.yaml")
    text = dump_codebook(spec, format=fmt)
    assert load_codebook(text, filename=f"demo.{fmt}") == spec
    # Dumping is deterministic, so exported files diff cleanly.
    assert dump_codebook(load_codebook(text, filename=f"demo.{fmt}"), format=fmt) == text


def test_to_dict_is_json_safe_and_round_trips():
    spec = load_codebook(BASE, filename="demo.yaml")
    data = spec.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["rating_items"][0]["anchors"] == {"1": "Absent", "9": "Pervasive"}
    assert validate_codebook(data, filename="db") == spec


def test_yaml_dump_writes_integer_anchor_keys():
    text = dump_codebook(load_codebook(BASE, filename="demo.yaml"))
    assert yaml.safe_load(text)["rating_items"][0]["anchors"] == {1: "Absent", 9: "Pervasive"}


def test_json_and_yaml_files_of_the_same_codebook_load_equal():
    as_json = json.dumps(yaml.safe_load(BASE), indent=2)
    assert load_codebook(as_json, filename="demo.json") == load_codebook(BASE, filename="demo.yaml")


def test_format_argument_overrides_the_extension_and_bytes_with_bom_load():
    content = "\ufeff".encode() + BASE.encode()
    assert load_codebook(content, filename="upload.txt", format="yaml").key == "demo"


# Text pieces YAML treats specially, mixed with arbitrary printable characters.
_piece = st.sampled_from(
    ["\n", "\t", '"', "'", ": ", " #", "{", "[", "&", "*", "!", "|", ">", "  "]
)
_char = st.characters(blacklist_categories=("Cs", "Cc"))
_text = st.lists(_piece | _char, max_size=20).map("".join)
_words = st.sampled_from(["yes", "no", "null", "~", "1.0", "0x1F", "2015-01-01", "on", "- x"])


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(_text.filter(lambda t: t.strip()) | _words, min_size=1, max_size=4),
    descriptions=st.lists(_text | _words, min_size=1, max_size=4),
    fmt=st.sampled_from(["yaml", "json"]),
)
def test_any_text_survives_a_round_trip(names, descriptions, fmt):
    markers = [
        MarkerSpec(code=f"m{i}", name=name, description=descriptions[i % len(descriptions)])
        for i, name in enumerate(names)
    ]
    spec = CodebookSpec(
        key="demo",
        name=names[0],
        version="1.0",
        source="x" + descriptions[0],
        licence="x",
        description=descriptions[-1],
        scales=[ScaleSpec(code="s", name="S", description=descriptions[0])],
        markers=markers,
    )
    assert load_codebook(dump_codebook(spec, format=fmt), filename=f"x.{fmt}") == spec


# --------------------------------------------------------------------------- YAML rules

# (change to BASE, field named, fragment of the line expected, words in the message)
CASES = [
    (
        "format: coding-platform/codebook",
        "format: other/thing",
        "format",
        "format: other",
        "must be",
    ),
    (
        "format_version: 1",
        "format_version: 2",
        "format_version",
        "format_version",
        "reads format_version 1",
    ),
    ("name: Demo coding system\n", "", "name", "format: coding", "required field is missing"),
    ('version: "1.0"', "version: 1.0", "version", "version: 1.0", 'quote it: "1.0"'),
    ('version: "1.0"', 'version: " "', "version", 'version: " "', "must not be empty"),
    ("key: demo", "key: Demo_Lab", "key", "key: Demo_Lab", "lower-case"),
    ("partial: false", "partail: false", "partail", "partail", "did you mean 'partial'"),
    ("partial: false", "partial: maybe", "partial", "partial: maybe", "true or false"),
    (
        "segment_length_seconds: 60",
        "segment_length_seconds: 0",
        "segment_length_seconds",
        "segment_length_seconds",
        "positive",
    ),
    (
        "    group: secure\n",
        "    group: [secure]\n",
        "scales[0].group",
        "group: [secure]",
        "must be text",
    ),
    (
        "    name: Changes topic\n",
        "",
        "markers[1].name",
        "- code: m02",
        "required field is missing",
    ),
    (
        "    name: Changes topic\n",
        "    name: Changes topic\n    name: Again\n",
        "markers[1].name",
        "name: Again",
        "twice",
    ),
    (
        "    scale: retreat\n",
        "    scael: retreat\n",
        "markers[1].scael",
        "scael",
        "did you mean 'scale'",
    ),
    (
        "    scale: retreat\n",
        "    scale: retret\n",
        "markers[1].scale",
        "scale: retret",
        "did you mean 'retreat'",
    ),
    ("    number: 2\n", "    number: two\n", "markers[1].number", "number: two", "whole number"),
    (
        "    number: 2\n",
        "    number: 1  # dup\n",
        "markers[1].number",
        "# dup",
        "already used by markers[0]",
    ),
    ("    number: 2\n", "    number: 0\n", "markers[1].number", "number: 0", "1 or more"),
    (
        "  - code: tension",
        "  - code: Tension Score",
        "markers[2].code",
        "Tension Score",
        "lower-case",
    ),
    (
        "  - code: approach_score",
        "  - code: approach  # dup",
        "rating_items[0].code",
        "# dup",
        "already used by scales[0]",
    ),
    (
        "    unit: patient_turn",
        "    unit: patient",
        "markers[0].unit",
        "unit: patient",
        "not one of",
    ),
    (
        "    value_kind: presence",
        "    value_kind: yes-no",
        "markers[0].value_kind",
        "value_kind: yes-no",
        "not one of",
    ),
    (
        "    shortcut: a\n",
        "    shortcut: a\n    rating_min: 1\n",
        "markers[0].rating_min",
        "rating_min: 1",
        "only rating markers",
    ),
    ("    rating_min: 1\n", "", "markers[2].rating_min", "- code: tension", "needs rating_min"),
    (
        "    rating_max: 5",
        "    rating_max: 1",
        "markers[2].rating_max",
        "rating_max: 1",
        "greater than rating_min",
    ),
    (
        "segment_length_seconds: 60\n",
        "",
        "markers[2].unit",
        "unit: segment",
        "segment_length_seconds",
    ),
    (
        "    name: Changes topic\n",
        "    name: Changes topic\n    shortcut: a  # dup\n",
        "markers[1].shortcut",
        "# dup",
        "already used by markers[0]",
    ),
    ("    level: session", "    level: week", "rating_items[0].level", "level: week", "not one of"),
    (
        "    max: 9\n    anchors:",
        "    max: 1  # dup\n    anchors:",
        "rating_items[0].max",
        "# dup",
        "greater than min",
    ),
    (
        "      9: Pervasive",
        "      10: Pervasive",
        "rating_items[0].anchors.10",
        "10: Pervasive",
        "outside the range 1-9",
    ),
    (
        "      1: Absent",
        "      low: Absent",
        "rating_items[0].anchors.low",
        "low: Absent",
        "whole number",
    ),
    (
        "    name: Retreat score\n    scale: retreat",
        "    name: Retreat score\n    scale: approach  # dup",
        "rating_items[1].scale",
        "# dup",
        "already scored",
    ),
    (
        "      - code: closed\n        name: Closed\n",
        "",
        "classifications[0].categories",
        "categories:",
        "at least 2",
    ),
    (
        "      - code: closed",
        "      - code: open  # dup",
        "classifications[0].categories[1].code",
        "# dup",
        "already used",
    ),
    (
        "        retreat: closed",
        "        retrat: closed",
        "classifications[0].derivation.scale_to_category.retrat",
        "retrat: closed",
        "did you mean 'retreat'",
    ),
    (
        "        retreat: closed",
        "        retreat: shut",
        "classifications[0].derivation.scale_to_category.retreat",
        "retreat: shut",
        "no category with code 'shut'",
    ),
    (
        "      rule: highest_scale",
        "      rule: majority",
        "classifications[0].derivation.rule",
        "rule: majority",
        "not one of",
    ),
    (
        "      source: ratings",
        "      source: vibes",
        "classifications[0].derivation.source",
        "source: vibes",
        "not one of",
    ),
    (
        "      tie: unclassified",
        "      tie: coin",
        "classifications[0].derivation.tie",
        "tie: coin",
        "not one of",
    ),
    (
        "      tie: unclassified",
        "      tie: first_in_order",
        "classifications[0].derivation.priority",
        "derivation:",
        "needs every mapped category",
    ),
    (
        "      tie: unclassified",
        "      tie: unclassified\n      priority: [open, shut]",
        "classifications[0].derivation.priority[1]",
        "priority:",
        "no category with code 'shut'",
    ),
    (
        "    name: Retreat score\n    scale: retreat\n",
        "    name: Retreat score\n",
        "classifications[0].derivation.scale_to_category.retreat",
        "retreat: closed",
        "no session rating item",
    ),
]


@pytest.mark.parametrize(("old", "new", "field", "line_fragment", "words"), CASES)
def test_each_rule_names_the_field_and_the_line(old, new, field, line_fragment, words):
    text = edit(BASE, old, new)
    line = line_of(text, line_fragment)
    assert_issue(issues_of(text), field, line, words)


def test_marker_counts_source_needs_markers_in_each_mapped_scale():
    text = edit(BASE, "      source: ratings", "      source: marker_counts")
    text = edit(text, "    name: Changes topic\n    scale: retreat\n", "    name: Changes topic\n")
    assert_issue(
        issues_of(text),
        "classifications[0].derivation.scale_to_category.retreat",
        line_of(text, "retreat: closed"),
        "has no markers",
    )


def test_a_segment_rating_needs_a_segment_length():
    text = edit(BASE, "segment_length_seconds: 60\n", "")
    text = edit(text, "    level: session", "    level: segment")
    issues = issues_of(text)
    assert_issue(issues, "rating_items[0].level", line_of(text, "level: segment"), "segment_length")
    # A scale scored only per segment cannot feed a derivation from session ratings.
    assert_issue(
        issues,
        "classifications[0].derivation.scale_to_category.approach",
        line_of(text, "approach: open"),
        "no session rating item",
    )


def test_a_classification_without_categories_is_reported_at_the_classification():
    text = edit(
        BASE,
        "    categories:\n      - code: open\n        name: Open\n"
        "      - code: closed\n        name: Closed\n",
        "",
    )
    issues = issues_of(text)
    assert_issue(issues, "classifications[0].categories", line_of(text, "- code: style"), "missing")


def test_all_problems_are_reported_at_once_in_file_order():
    text = edit(BASE, "    unit: patient_turn", "    unit: patient")
    text = edit(text, "key: demo", "key: Demo")
    text = edit(text, "      9: Pervasive", "      10: Pervasive")
    issues = issues_of(text)
    assert [i.field for i in issues] == ["key", "markers[0].unit", "rating_items[0].anchors.10"]
    assert [i.line for i in issues] == sorted(i.line for i in issues)


def test_issue_and_error_read_as_file_line_field_message():
    issue = FormatIssue("pacs.yaml", 12, "markers[3].unit", "'x' is not one of: a, b")
    assert str(issue) == "pacs.yaml:12: markers[3].unit: 'x' is not one of: a, b"
    assert str(FormatIssue("pacs.yaml", None, "", "not UTF-8")) == "pacs.yaml: not UTF-8"
    text = edit(BASE, "    unit: patient_turn", "    unit: patient")
    with pytest.raises(CodebookFormatError) as caught:
        load_codebook(text, filename="demo.yaml")
    assert f"demo.yaml:{line_of(text, 'unit: patient')}: markers[0].unit:" in str(caught.value)


# --------------------------------------------------------------------------- file-level


def test_invalid_yaml_names_its_line():
    text = edit(BASE, "    group: insecure", "    group: [insecure")
    (issue,) = issues_of(text)
    assert issue.field == "" and "not valid YAML" in issue.message
    assert issue.line is not None and issue.line >= line_of(text, "[insecure")


def test_top_level_must_be_a_mapping_and_empty_file_says_so():
    assert issues_of("- a\n- b\n")[0].message.startswith("must be a mapping")
    assert "must be a mapping, not empty" in issues_of("")[0].message


def test_unknown_extension_and_non_utf8_are_reported():
    assert "cannot tell the format" in issues_of(BASE, filename="demo.txt")[0].message
    with pytest.raises(CodebookFormatError) as caught:
        load_codebook(b"name: \xff\xfe", filename="demo.yaml")
    assert "not UTF-8" in caught.value.issues[0].message


def test_yaml_alias_bomb_is_rejected_quickly():
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
    for level in range(1, 9):
        previous = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        bomb += f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n"
    issues = issues_of(bomb)
    assert any(i.field == "a" and "unknown field" in i.message for i in issues)


# --------------------------------------------------------------------------- JSON lines


def as_json(text: str, change=None, indent: int | None = 2) -> str:
    data = yaml.safe_load(text)
    if change:
        change(data)
    return json.dumps(data, indent=indent, ensure_ascii=False)


def test_json_issues_name_the_line_of_the_key():
    def change(data):
        data["markers"][1]["unit"] = "patient"
        data["markers"][0]["scael"] = "approach"
        del data["markers"][2]["name"]

    text = as_json(BASE, change)
    issues = issues_of(text, filename="demo.json")
    assert_issue(issues, "markers[1].unit", line_of(text, '"unit": "patient"'), "not one of")
    assert_issue(issues, "markers[0].scael", line_of(text, '"scael"'), "did you mean")
    # A missing field points at the line where its object opens.
    markers_line = line_of(text, '"code": "tension"') - 1
    assert_issue(issues, "markers[2].name", markers_line, "required field is missing")


def test_json_duplicate_keys_and_syntax_errors_are_located():
    text = as_json(BASE).replace(
        '"name": "Changes topic",', '"name": "Changes topic",\n      "name": "Again",', 1
    )
    assert_issue(issues_of(text, "demo.json"), "markers[1].name", line_of(text, '"Again"'), "twice")
    broken = as_json(BASE).replace('"partial": false,', '"partial": false', 1)
    (issue,) = issues_of(broken, "demo.json")
    assert "not valid JSON" in issue.message and issue.line == line_of(broken, '"partial"') + 1


def test_single_line_json_reports_line_one():
    text = as_json(BASE, lambda d: d["markers"][0].update(unit="x"), indent=None)
    assert_issue(issues_of(text, "demo.json"), "markers[0].unit", 1, "not one of")


@settings(max_examples=100)
@given(
    descriptions=st.lists(st.text(max_size=30), min_size=3, max_size=3),
    target=st.integers(min_value=0, max_value=2),
    indent=st.sampled_from([1, 2, 4, "\t"]),
)
def test_json_line_of_an_unknown_key_survives_awkward_strings(descriptions, target, indent):
    def change(data):
        for marker, text in zip(data["markers"], descriptions):
            marker["description"] = text  # quotes, braces, escapes, unicode
        data["markers"][target]["zzz_unknown"] = '{["x"]}'

    text = as_json(BASE, change, indent=indent)
    issues = issues_of(text, "demo.json")
    expected = next(
        n for n, line in enumerate(text.split("\n"), 1) if line.lstrip().startswith('"zzz_unknown"')
    )
    assert_issue(issues, f"markers[{target}].zzz_unknown", expected, "unknown field")


# --------------------------------------------------------------------------- the documentation

DOC = Path(__file__).resolve().parents[2] / "docs" / "codebook-format.md"


def doc_blocks(language: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_the_documented_yaml_and_json_examples_load_to_the_same_codebook():
    (yaml_text,) = [b for b in doc_blocks("yaml") if b.startswith("format:")]
    (json_text,) = [b for b in doc_blocks("json") if '"format"' in b]
    spec = load_codebook(yaml_text, filename="example.yaml")
    assert load_codebook(json_text, filename="example.json") == spec
    assert json_text == dump_codebook(spec, format="json")
    # "Uses every field": each optional field of each kind of item is set somewhere.
    data = spec.to_dict()
    assert set(data) == {
        "format", "format_version", "key", "name", "version", "source", "licence",
        "description", "partial", "segment_length_seconds", "scales", "markers",
        "rating_items", "classifications",
    }  # fmt: skip
    marker_fields = set().union(*(m.keys() for m in data["markers"]))
    assert marker_fields == {
        "code", "number", "name", "scale", "unit", "value_kind", "rating_min", "rating_max",
        "shortcut", "description",
    }  # fmt: skip
    rating_fields = set().union(*(r.keys() for r in data["rating_items"]))
    assert rating_fields == {
        "code", "name", "scale", "level", "min", "max", "required", "anchors", "description",
    }  # fmt: skip
    derivation = data["classifications"][0]["derivation"]
    assert set(derivation) == {"rule", "source", "scale_to_category", "tie", "priority"}
