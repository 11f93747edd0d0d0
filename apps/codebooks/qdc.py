"""REFI-QDA codebook (.qdc) import and export.

A .qdc file is the code tree that ATLAS.ti, MAXQDA, NVivo and QualCoder exchange
(namespace urn:QDA-XML:codebook:1.0). It carries names, descriptions and nesting only, so the
mapping is: top-level codes that have children are scales, the codable codes below them are
markers, and a leading number in a code name ("12 Changes topic") is the marker number.
Units, rating items and classifications have no place in a .qdc file: an imported codebook
gets the defaults (patient turns, presence) and a lab completes it in the YAML file.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath

from lxml import etree

from apps.codebooks.format import (
    CODE_RE,
    MAX_CODE,
    CodebookFormatError,
    CodebookSpec,
    FormatIssue,
    MarkerSpec,
    ScaleSpec,
    validate_codebook,
)

CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
# A codebook inside a project file (.qde) uses the project namespace; older tools write none.
_ACCEPTED_NS = (CODEBOOK_NS, "urn:QDA-XML:project:1.0", None)
# Fixed namespace for uuid5, so the same codebook version always exports the same GUIDs.
_GUID_NS = uuid.uuid5(uuid.NAMESPACE_URL, "urn:coding-platform:codebook")
_Fail = Callable[[int | None, str, str], None]
_NUMBERED = re.compile(r"^(\d+)[.):]?\s+(\S.*)$", re.DOTALL)


@dataclass
class _Code:
    """One <Code> element as read from the file, before it becomes a scale or marker."""

    name: str
    codable: bool
    description: str
    line: int | None
    where: str
    children: list[_Code] = field(default_factory=list)


def codebook_from_qdc(
    content: bytes, *, filename: str, key: str | None = None, version: str = "1.0"
) -> CodebookSpec:
    """Read a REFI-QDA codebook into a CodebookSpec; raise CodebookFormatError with lines."""
    issues: list[FormatIssue] = []

    def fail(line: int | None, where: str, message: str) -> None:
        issues.append(FormatIssue(filename, line, where, message))

    # No DTDs, entities or network: a .qdc comes from outside and must not reach out.
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True
    )
    try:
        root = etree.fromstring(content, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise CodebookFormatError(
            [FormatIssue(filename, exc.lineno, "", f"not valid XML: {exc.msg}")]
        ) from None
    qname = etree.QName(root)
    if qname.localname != "CodeBook" or qname.namespace not in _ACCEPTED_NS:
        fail(
            root.sourceline, qname.localname, f"the root element must be CodeBook in {CODEBOOK_NS}"
        )
        raise CodebookFormatError(issues)
    ns = qname.namespace
    codes_el = root.find(_tag(ns, "Codes"))
    if codes_el is None:
        fail(root.sourceline, "CodeBook", "has no Codes element")
        raise CodebookFormatError(issues)
    tree = _read_children(codes_el, ns, "CodeBook/Codes", fail)
    origin = root.get("origin", "").strip()
    spec = _to_spec(tree, filename=filename, key=key, version=version, origin=origin, fail=fail)
    if issues:
        raise CodebookFormatError(issues)
    # The generated spec must pass the same rules as a hand-written file (lengths, codes...).
    validate_codebook(spec.to_dict(), filename=filename)
    return spec


def _tag(ns: str | None, name: str) -> str:
    return f"{{{ns}}}{name}" if ns else name


def _read_children(parent: etree._Element, ns: str | None, where: str, fail: _Fail) -> list[_Code]:
    codes = []
    for index, element in enumerate(parent.findall(_tag(ns, "Code")), start=1):
        here = f"{where}/Code[{index}]"
        name = (element.get("name") or "").strip()
        if not name:
            fail(element.sourceline, f"{here}/@name", "a code needs a name")
        codable_text = (element.get("isCodable") or "true").strip().lower()
        if codable_text not in ("true", "false", "1", "0"):
            fail(element.sourceline, f"{here}/@isCodable", f"'{codable_text}' is not true or false")
        description = element.findtext(_tag(ns, "Description")) or ""
        code = _Code(
            name=" ".join(name.split()),
            codable=codable_text in ("true", "1"),
            description=description.strip(),
            line=element.sourceline,
            where=here,
        )
        code.children = _read_children(element, ns, here, fail)
        codes.append(code)
    return codes


def _to_spec(
    tree: list[_Code], *, filename: str, key: str | None, version: str, origin: str, fail: _Fail
) -> CodebookSpec:
    taken: set[str] = set()
    scales: list[ScaleSpec] = []
    placed: list[tuple[_Code, str | None]] = []  # (code, scale code) in document order
    for top in tree:
        if top.children or not top.codable:
            scale_code = _unique(_slug(top.name, "_"), taken)
            scales.append(ScaleSpec(code=scale_code, name=top.name, description=top.description))
            placed.extend((code, scale_code) for code in _codable_descendants(top))
        else:
            placed.append((top, None))
    numbers: dict[int, _Code] = {}
    numbered: list[tuple[int | None, str]] = []
    for code, _scale in placed:
        match = _NUMBERED.match(code.name)
        number = int(match.group(1)) if match and int(match.group(1)) > 0 else None
        if number is not None and number in numbers:
            first = numbers[number]
            fail(
                code.line,
                f"{code.where}/@name",
                f"number {number} is already used on line {first.line}",
            )
        elif number is not None:
            numbers[number] = code
        numbered.append((number, match.group(2) if number is not None and match else code.name))
    # Numbered markers get m01, m02 ... first, so the same numbers always give the same codes.
    codes = [_unique(f"m{n:02d}", taken) if n is not None else None for n, _ in numbered]
    markers = []
    for (code, scale), (number, name), marker_code in zip(placed, numbered, codes):
        markers.append(
            MarkerSpec(
                code=marker_code or _unique(_slug(name, "_"), taken),
                name=name,
                number=number,
                description=code.description,
                scale=scale,
            )
        )
    stem = PurePath(filename).stem
    source = f"REFI-QDA codebook {PurePath(filename).name}"
    return CodebookSpec(
        key=key if key is not None else _slug(stem, "-") or "imported",
        name=" ".join(stem.replace("_", " ").split()) or "Imported codebook",
        version=version,
        source=source + (f", exported by {origin}" if origin else ""),
        licence="Not stated in the .qdc file: fill in before sharing this codebook.",
        description="Imported from a REFI-QDA codebook; units, ratings and classifications "
        "are not part of that format and are to be completed here.",
        scales=scales,
        markers=markers,
    )


def _codable_descendants(code: _Code) -> list[_Code]:
    # Sub-groups (non-codable codes with children, e.g. PACS subscales) are flattened into the
    # top-level scale: the platform has one level of grouping.
    found = []
    for child in code.children:
        if child.codable:
            found.append(child)
        found.extend(_codable_descendants(child))
    return found


def _slug(text: str, sep: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", sep, ascii_text.lower()).strip(sep)
    return slug[: MAX_CODE - 4].rstrip(sep)


def _unique(code: str, taken: set[str]) -> str:
    base = code if code and CODE_RE.match(code) else f"code_{code}".rstrip("_")
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate


def qdc_guid(spec: CodebookSpec, kind: str, code: str) -> str:
    """Return the stable GUID of a scale or marker: the same codebook version, the same GUID."""
    return str(uuid.uuid5(_GUID_NS, f"{spec.key}/{spec.version}/{kind}/{code}")).upper()


def codebook_to_qdc(spec: CodebookSpec) -> bytes:
    """Write a codebook's scales and markers as a REFI-QDA codebook (UTF-8 XML bytes).

    Scales become non-codable parent codes with their markers as codable children; markers
    without a scale are top-level codes. Rating items and classifications are not exported:
    the format has no place for them.
    """
    if not spec.scales and not spec.markers:
        raise ValueError("a REFI-QDA codebook needs at least one code; this one has none")
    root = etree.Element(_tag(CODEBOOK_NS, "CodeBook"), nsmap={None: CODEBOOK_NS})
    root.set("origin", f"coding-platform {spec.key} {spec.version}")
    codes = etree.SubElement(root, _tag(CODEBOOK_NS, "Codes"))
    scale_codes = {s.code for s in spec.scales}
    for scale in spec.scales:
        parent = _code_element(
            codes, qdc_guid(spec, "scale", scale.code), scale.name, False, scale.description
        )
        for marker in spec.markers:
            if marker.scale == scale.code:
                _marker_element(parent, spec, marker)
    for marker in spec.markers:
        if marker.scale not in scale_codes:
            _marker_element(codes, spec, marker)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _marker_element(parent: etree._Element, spec: CodebookSpec, marker: MarkerSpec) -> None:
    name = f"{marker.number} {marker.name}" if marker.number is not None else marker.name
    _code_element(parent, qdc_guid(spec, "marker", marker.code), name, True, marker.description)


def _code_element(
    parent: etree._Element, guid: str, name: str, codable: bool, description: str
) -> etree._Element:
    element = etree.SubElement(parent, _tag(CODEBOOK_NS, "Code"))
    element.set("guid", guid)
    element.set("name", name)
    element.set("isCodable", "true" if codable else "false")
    if description:
        # Description must precede child codes (the schema's element order).
        etree.SubElement(element, _tag(CODEBOOK_NS, "Description")).text = description
    return element
