"""REFI-QDA codebook (.qdc) export and import."""

from __future__ import annotations

import dataclasses
import re
import textwrap
from pathlib import Path

import pytest
from lxml import etree

from apps.codebooks.format import (
    CodebookFormatError,
    CodebookSpec,
    MarkerSpec,
    ScaleSpec,
    dump_codebook,
    load_codebook,
)
from apps.codebooks.qdc import CODEBOOK_NS, codebook_from_qdc, codebook_to_qdc

DATA = Path(__file__).resolve().parents[2] / "apps" / "codebooks" / "data"
DOC = Path(__file__).resolve().parents[2] / "docs" / "codebook-format.md"

# The structure of a REFI-QDA codebook (Codebook.xsd, version 1.0) restated for the test: the
# root, the element order inside a Code, required attributes and the GUID/colour patterns.
_GUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
CODEBOOK_XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns="@NS@"
           targetNamespace="@NS@" elementFormDefault="qualified">
  <xs:element name="CodeBook">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="Codes" type="CodesType"/>
        <xs:element name="Sets" minOccurs="0"/>
      </xs:sequence>
      <xs:attribute name="origin" type="xs:string"/>
    </xs:complexType>
  </xs:element>
  <xs:complexType name="CodesType">
    <xs:sequence><xs:element name="Code" type="CodeType" maxOccurs="unbounded"/></xs:sequence>
  </xs:complexType>
  <xs:complexType name="CodeType">
    <xs:sequence>
      <xs:element name="Description" type="xs:string" minOccurs="0"/>
      <xs:element name="NoteRef" minOccurs="0" maxOccurs="unbounded"/>
      <xs:element name="Code" type="CodeType" minOccurs="0" maxOccurs="unbounded"/>
    </xs:sequence>
    <xs:attribute name="guid" type="GUIDType" use="required"/>
    <xs:attribute name="name" type="xs:string" use="required"/>
    <xs:attribute name="isCodable" type="xs:boolean" use="required"/>
    <xs:attribute name="color" type="RGBType"/>
  </xs:complexType>
  <xs:simpleType name="GUIDType">
    <xs:restriction base="xs:token"><xs:pattern value="(@GUID@)|(\\{@GUID@\\})"/></xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="RGBType">
    <xs:restriction base="xs:token">
      <xs:pattern value="#([A-Fa-f0-9]{6}|[A-Fa-f0-9]{3})"/>
    </xs:restriction>
  </xs:simpleType>
</xs:schema>
""".replace("@NS@", CODEBOOK_NS).replace("@GUID@", _GUID)
SCHEMA = etree.XMLSchema(etree.fromstring(CODEBOOK_XSD.encode()))


def shipped(name: str) -> CodebookSpec:
    return load_codebook((DATA / name).read_bytes(), filename=name)


def summary(spec: CodebookSpec) -> list[tuple]:
    """What a .qdc can carry: scale names and, per marker, number, name, scale name, text."""
    scale_names = {s.code: s.name for s in spec.scales}
    scales = [(s.name, s.description) for s in spec.scales]
    markers = [(m.number, m.name, scale_names.get(m.scale), m.description) for m in spec.markers]
    return [scales, markers]


# --------------------------------------------------------------------------- export


@pytest.mark.parametrize("name", ["pacs-2.0.yaml", "3rs-2015.yaml", "rupture-short-8.yaml"])
def test_exported_codebooks_are_valid_and_import_back_with_scales_markers_numbers(name):
    spec = shipped(name)
    content = codebook_to_qdc(spec)
    SCHEMA.assertValid(etree.fromstring(content))
    back = codebook_from_qdc(
        content, filename=f"{spec.key}.qdc", key=spec.key, version=spec.version
    )
    assert summary(back) == summary(spec)


def test_numbered_markers_keep_their_codes_through_a_round_trip():
    spec = shipped("pacs-2.0.yaml")
    back = codebook_from_qdc(codebook_to_qdc(spec), filename="pacs.qdc")
    assert [m.code for m in back.markers] == [m.code for m in spec.markers]
    assert [s.code for s in back.scales] == [s.code for s in spec.scales]
    assert back.key == "pacs" and back.version == "1.0"


def test_export_is_byte_for_byte_stable_and_guids_are_unique_per_version():
    spec = shipped("pacs-2.0.yaml")
    first = codebook_to_qdc(spec)
    assert codebook_to_qdc(shipped("pacs-2.0.yaml")) == first
    guids = etree.fromstring(first).xpath("//q:Code/@guid", namespaces={"q": CODEBOOK_NS})
    assert len(guids) == len(set(guids)) == len(spec.scales) + len(spec.markers)
    other = CodebookSpec(**{**spec.__dict__, "version": "2.0-full"})
    other_guids = etree.fromstring(codebook_to_qdc(other)).xpath("//@guid")
    assert not set(guids) & set(other_guids)


def test_export_writes_scales_as_non_codable_parents_and_numbered_names():
    root = etree.fromstring(codebook_to_qdc(shipped("rupture-short-8.yaml")))
    ns = {"q": CODEBOOK_NS}
    parents = root.xpath("/q:CodeBook/q:Codes/q:Code", namespaces=ns)
    assert [(p.get("name"), p.get("isCodable")) for p in parents] == [
        ("Withdrawal", "false"),
        ("Confrontation", "false"),
    ]
    children = parents[0].xpath("q:Code", namespaces=ns)
    assert [c.get("name") for c in children] == [
        "1 Denial",
        "2 Minimal response",
        "3 Content/affect split",
        "4 Overly compliant",
    ]
    assert all(c.get("isCodable") == "true" for c in children)


def test_markers_without_scale_are_top_level_codes_and_empty_codebooks_refuse():
    spec = CodebookSpec(
        key="x",
        name="X",
        version="1",
        source="s",
        licence="l",
        scales=[ScaleSpec("grp", "Group")],
        markers=[MarkerSpec("alone", "Alone", description="Ünïcode ✓")],
    )
    content = codebook_to_qdc(spec)
    SCHEMA.assertValid(etree.fromstring(content))
    back = codebook_from_qdc(content, filename="x.qdc")
    assert [(m.name, m.scale, m.description) for m in back.markers] == [
        ("Alone", None, "Ünïcode ✓")
    ]
    assert [s.name for s in back.scales] == ["Group"]
    with pytest.raises(ValueError, match="at least one code"):
        codebook_to_qdc(CodebookSpec(key="x", name="X", version="1", source="s", licence="l"))


# --------------------------------------------------------------------------- import

SAMPLE = """<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0"
          xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
          origin="MAXQDA 2022">
  <Codes>
    <Code guid="6E1D1A2B-0000-4000-8000-000000000001" name="Nähe suchen" isCodable="true"
          color="#3A9D23">
      <Description>Wie der Patient Nähe sucht.</Description>
      <Code guid="6E1D1A2B-0000-4000-8000-000000000002" name="Bitten" isCodable="false">
        <Code guid="6E1D1A2B-0000-4000-8000-000000000003" name="1 Bittet um Hilfe"
              isCodable="true">
          <Description>Bittet   direkt um
            Unterstützung.</Description>
          <NoteRef targetGUID="6E1D1A2B-0000-4000-8000-0000000000ff"/>
        </Code>
        <Code guid="6E1D1A2B-0000-4000-8000-000000000004" name="5. Spricht über Schmerz"
              isCodable="true"/>
      </Code>
      <Code guid="6E1D1A2B-0000-4000-8000-000000000005" name="Leerer Ordner" isCodable="false"/>
    </Code>
    <Code guid="6E1D1A2B-0000-4000-8000-000000000006" name="回避" isCodable="false">
      <Code guid="6E1D1A2B-0000-4000-8000-000000000007" name="25 Antwortet nicht"
            isCodable="1"/>
      <Code guid="6E1D1A2B-0000-4000-8000-000000000008" name="Wechselt das Thema"
            isCodable="true"/>
    </Code>
    <Code guid="6E1D1A2B-0000-4000-8000-000000000009" name="Memo-würdig" isCodable="true"/>
  </Codes>
  <Sets>
    <Set guid="6E1D1A2B-0000-4000-8000-000000000010" name="Favourites">
      <MemberCode targetGUID="6E1D1A2B-0000-4000-8000-000000000003"/>
    </Set>
  </Sets>
</CodeBook>
"""


def test_import_of_a_hand_written_codebook_maps_the_tree():
    spec = codebook_from_qdc(SAMPLE.encode(), filename="Lab codebook (draft).qdc")
    assert [(s.code, s.name, s.description) for s in spec.scales] == [
        ("nahe_suchen", "Nähe suchen", "Wie der Patient Nähe sucht."),
        ("code", "回避", ""),
    ]
    assert [(m.code, m.number, m.name, m.scale) for m in spec.markers] == [
        ("m01", 1, "Bittet um Hilfe", "nahe_suchen"),
        ("m05", 5, "Spricht über Schmerz", "nahe_suchen"),
        ("m25", 25, "Antwortet nicht", "code"),
        ("wechselt_das_thema", None, "Wechselt das Thema", "code"),
        ("memo_wurdig", None, "Memo-würdig", None),
    ]
    assert spec.markers[0].description.startswith("Bittet   direkt um")
    assert all(m.unit == "patient_turn" and m.value_kind == "presence" for m in spec.markers)
    assert spec.key == "lab-codebook-draft" and spec.version == "1.0"
    assert spec.name == "Lab codebook (draft)"
    assert "MAXQDA 2022" in spec.source and spec.rating_items == [] == spec.classifications


def test_imported_codebook_dumps_to_a_valid_yaml_file():
    spec = codebook_from_qdc(SAMPLE.encode(), filename="lab.qdc", key="lab", version="2.0")
    assert load_codebook(dump_codebook(spec), filename="lab.yaml") == spec


def test_codebook_inside_a_project_namespace_and_without_namespace_is_read():
    for namespace in ('xmlns="urn:QDA-XML:project:1.0"', ""):
        guid = "00000000-0000-0000-0000-000000000000"
        code = f'<Code guid="{guid}" name="A" isCodable="true"/>'
        content = f"<CodeBook {namespace}><Codes>{code}</Codes></CodeBook>"
        assert [m.name for m in codebook_from_qdc(content.encode(), filename="a.qdc").markers] == [
            "A"
        ]


def errors_of(content: str, filename: str = "bad.qdc") -> list:
    with pytest.raises(CodebookFormatError) as caught:
        codebook_from_qdc(content.encode(), filename=filename)
    return caught.value.issues


def test_import_errors_name_the_line():
    broken = SAMPLE.replace('isCodable="1"/>', 'isCodable="1">', 1)
    (issue,) = errors_of(broken)
    assert "not valid XML" in issue.message and issue.line is not None

    no_name = SAMPLE.replace('name="Bitten" ', "", 1)
    issues = errors_of(no_name)
    assert [(i.line, i.field) for i in issues] == [(9, "CodeBook/Codes/Code[1]/Code[1]/@name")]

    duplicate = SAMPLE.replace('name="25 Antwortet nicht"', 'name="5 Antwortet nicht"', 1)
    (issue,) = errors_of(duplicate)
    # lxml numbers an element by the line where its start tag ends.
    assert issue.line == 23 and "number 5 is already used on line 17" in issue.message
    assert str(issue).startswith("bad.qdc:23: CodeBook/Codes/Code[2]/Code[1]/@name:")

    odd = SAMPLE.replace('isCodable="1"', 'isCodable="sometimes"', 1)
    (issue,) = errors_of(odd)
    assert issue.line == 23 and issue.field.endswith("@isCodable")


def test_a_foreign_root_or_missing_codes_is_refused():
    assert "root element must be CodeBook" in errors_of("<Project/>")[0].message
    assert "has no Codes" in errors_of(f'<CodeBook xmlns="{CODEBOOK_NS}"/>')[0].message


def test_entities_are_not_expanded():
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE CodeBook [<!ENTITY secret SYSTEM "file:///etc/hostname">]>'
        f'<CodeBook xmlns="{CODEBOOK_NS}"><Codes><Code guid="{"1" * 8}-1111-1111-1111-{"1" * 12}"'
        ' name="A" isCodable="true"><Description>x&secret;</Description></Code></Codes></CodeBook>'
    )
    spec = codebook_from_qdc(xxe.encode(), filename="x.qdc")
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else "?"
    assert hostname not in spec.markers[0].description


def test_explicit_key_is_validated_like_a_file():
    with pytest.raises(CodebookFormatError) as caught:
        codebook_from_qdc(SAMPLE.encode(), filename="lab.qdc", key="Not A Slug")
    assert caught.value.issues[0].field == "key"


def test_the_documented_recipe_combines_a_full_marker_list_with_the_shipped_pacs(tmp_path):
    shipped_pacs = shipped("pacs-2.0.yaml")
    # Stand-in for the lab's own QDA export: the shipped markers plus one more under Avoidance.
    extra = MarkerSpec("m30", "A marker from the manual", number=30, scale="avoidance")
    lab_tree = dataclasses.replace(shipped_pacs, markers=[*shipped_pacs.markers, extra])
    (tmp_path / "pacs-full.qdc").write_bytes(codebook_to_qdc(lab_tree))
    (tmp_path / "pacs-2.0.yaml").write_bytes((DATA / "pacs-2.0.yaml").read_bytes())

    recipe = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert recipe is not None
    code = textwrap.dedent(recipe.group(1)).replace('Path("', f'Path("{tmp_path}/')
    exec(compile(code, "docs/codebook-format.md", "exec"), {})  # noqa: S102

    combined = load_codebook((tmp_path / "pacs-2.0-full.yaml").read_bytes(), filename="full.yaml")
    assert (combined.version, combined.partial) == ("2.0-full", False)
    added = {m.code: m for m in combined.markers}["m30"]
    assert (added.number, added.name, added.scale) == (30, "A marker from the manual", "avoidance")
    assert len(combined.markers) == len(shipped_pacs.markers) + 1
    assert combined.rating_items == shipped_pacs.rating_items
    assert combined.classifications == shipped_pacs.classifications
