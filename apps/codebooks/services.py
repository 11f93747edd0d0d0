"""Writes for coding systems: import from a codebook file, install what we ship, delete."""

from __future__ import annotations

import functools
from pathlib import Path

from django.db import transaction

from apps.codebooks.format import (
    CategorySpec,
    ClassificationSpec,
    CodebookFormatError,
    CodebookSpec,
    DerivationSpec,
    MarkerSpec,
    RatingItemSpec,
    ScaleSpec,
    dump_codebook,
    load_codebook,
)
from apps.codebooks.models import (
    Category,
    Classification,
    CodingSystem,
    Marker,
    RatingItem,
    Scale,
)
from apps.codebooks.qdc import codebook_from_qdc, codebook_to_qdc
from apps.projects.errors import ConflictError, DomainError, ImportFailed
from apps.projects.models import Project

SHIPPED_DIR = Path(__file__).resolve().parent / "data"
SHIPPED_FILES = {
    "pacs": "pacs-2.0.yaml",
    "3rs": "3rs-2015.yaml",
    "rupture-short": "rupture-short-8.yaml",
}
MAX_CODEBOOK_BYTES = 2 * 1024 * 1024


def shipped_codebook_specs() -> dict[str, CodebookSpec]:
    """The coding systems we ship, keyed by the choice a lead makes when creating a project."""
    return {choice: _shipped_spec(choice) for choice in SHIPPED_FILES}


@functools.cache
def _shipped_spec(choice: str) -> CodebookSpec:
    # Parsed once per process: the files ship with the code, and parsing them is slow.
    filename = SHIPPED_FILES[choice]
    return load_codebook((SHIPPED_DIR / filename).read_bytes(), filename=filename)


def codebook_parse_file(*, filename: str, content: bytes) -> CodebookSpec:
    """Parse a YAML, JSON or REFI-QDA (.qdc) codebook file, raising ImportFailed with all issues."""
    if len(content) > MAX_CODEBOOK_BYTES:
        raise ImportFailed(
            f"{filename}: the file is larger than {MAX_CODEBOOK_BYTES // 1024 // 1024} MB.",
            details=[{"file": filename, "line": None, "message": "file too large"}],
        )
    try:
        if filename.lower().endswith(".qdc"):
            return codebook_from_qdc(content, filename=filename)
        return load_codebook(content, filename=filename)
    except CodebookFormatError as exc:
        raise ImportFailed.listing(exc.issues, lead="The codebook was not imported") from None


@transaction.atomic
def coding_system_import(*, project: Project, spec: CodebookSpec, by=None) -> CodingSystem:
    """Create one version of a coding system in the project from a validated spec."""
    if CodingSystem.objects.filter(project=project, key=spec.key, version=spec.version).exists():
        raise ConflictError(
            f"{spec.name} version {spec.version} already exists in this project; a changed "
            "codebook must be imported with a new version."
        )
    system = CodingSystem.objects.create(
        project=project,
        key=spec.key,
        name=spec.name,
        version=spec.version,
        source=spec.source,
        licence=spec.licence,
        description=spec.description,
        partial=spec.partial,
        segment_length_seconds=spec.segment_length_seconds,
    )
    scales = Scale.objects.bulk_create(
        Scale(
            coding_system=system,
            code=s.code,
            name=s.name,
            group=s.group,
            description=s.description,
            position=i,
        )
        for i, s in enumerate(spec.scales)
    )
    scale_by_code = {s.code: s for s in scales}
    Marker.objects.bulk_create(
        Marker(
            coding_system=system,
            scale=scale_by_code.get(m.scale) if m.scale else None,
            code=m.code,
            number=m.number,
            name=m.name,
            description=m.description,
            unit=m.unit,
            value_kind=m.value_kind,
            rating_min=m.rating_min,
            rating_max=m.rating_max,
            shortcut=m.shortcut,
            position=i,
        )
        for i, m in enumerate(spec.markers)
    )
    RatingItem.objects.bulk_create(
        RatingItem(
            coding_system=system,
            scale=scale_by_code.get(r.scale) if r.scale else None,
            code=r.code,
            name=r.name,
            description=r.description,
            level=r.level,
            min_value=r.min,
            max_value=r.max,
            anchors={str(k): v for k, v in r.anchors.items()},
            required=r.required,
            position=i,
        )
        for i, r in enumerate(spec.rating_items)
    )
    for i, c in enumerate(spec.classifications):
        classification = Classification.objects.create(
            coding_system=system,
            code=c.code,
            name=c.name,
            description=c.description,
            required=c.required,
            derivation=_derivation_dict(c.derivation),
            position=i,
        )
        Category.objects.bulk_create(
            Category(
                classification=classification,
                code=cat.code,
                name=cat.name,
                description=cat.description,
                position=j,
            )
            for j, cat in enumerate(c.categories)
        )
    return system


def coding_system_import_file(
    *, project: Project, filename: str, content: bytes, by=None
) -> CodingSystem:
    spec = codebook_parse_file(filename=filename, content=content)
    return coding_system_import(project=project, spec=spec, by=by)


def coding_system_install_shipped(*, project: Project, key: str, by=None) -> CodingSystem:
    if key not in SHIPPED_FILES:
        raise DomainError(f"No shipped coding system called {key!r}.")
    return coding_system_import(project=project, spec=_shipped_spec(key), by=by)


def coding_system_is_in_use(system: CodingSystem) -> bool:
    """A coding system is frozen once any assignment uses it."""
    return system.assignments.exists()


@transaction.atomic
def coding_system_delete(*, system: CodingSystem) -> None:
    if coding_system_is_in_use(system):
        raise ConflictError(
            "This coding system is used by assignments and cannot be deleted or changed; "
            "import a new version instead."
        )
    # Scales are RESTRICTed by their markers and rating items, which the same cascade deletes.
    system.delete()


def coding_system_to_spec(system: CodingSystem) -> CodebookSpec:
    """Rebuild the file-format spec of a stored coding system (for export)."""
    scales = list(system.scales.all())
    scale_code = {s.pk: s.code for s in scales}
    classifications = list(system.classifications.prefetch_related("categories"))
    return CodebookSpec(
        key=system.key,
        name=system.name,
        version=system.version,
        source=system.source,
        licence=system.licence,
        description=system.description,
        partial=system.partial,
        segment_length_seconds=system.segment_length_seconds,
        scales=[
            ScaleSpec(code=s.code, name=s.name, group=s.group, description=s.description)
            for s in scales
        ],
        markers=[
            MarkerSpec(
                code=m.code,
                name=m.name,
                number=m.number,
                description=m.description,
                scale=scale_code.get(m.scale_id),
                unit=m.unit,
                value_kind=m.value_kind,
                rating_min=m.rating_min,
                rating_max=m.rating_max,
                shortcut=m.shortcut,
            )
            for m in system.markers.all()
        ],
        rating_items=[
            RatingItemSpec(
                code=r.code,
                name=r.name,
                level=r.level,
                min=r.min_value,
                max=r.max_value,
                anchors={int(k): v for k, v in r.anchors.items()},
                description=r.description,
                scale=scale_code.get(r.scale_id),
                required=r.required,
            )
            for r in system.rating_items.all()
        ],
        classifications=[
            ClassificationSpec(
                code=c.code,
                name=c.name,
                description=c.description,
                required=c.required,
                categories=[
                    CategorySpec(code=cat.code, name=cat.name, description=cat.description)
                    for cat in c.categories.all()
                ],
                derivation=DerivationSpec(**c.derivation) if c.derivation else None,
            )
            for c in classifications
        ],
    )


def coding_system_export(*, system: CodingSystem, format: str) -> tuple[bytes, str, str]:
    """Return (content, content type, file name) of the coding system in a file format."""
    spec = coding_system_to_spec(system)
    stem = f"{system.key}-{system.version}"
    if format == "qdc":
        return codebook_to_qdc(spec), "application/xml", f"{stem}.qdc"
    if format == "json":
        return dump_codebook(spec, format="json").encode(), "application/json", f"{stem}.json"
    if format == "yaml":
        return dump_codebook(spec, format="yaml").encode(), "application/yaml", f"{stem}.yaml"
    raise DomainError(f"Unknown export format {format!r}; choose yaml, json or qdc.")


def _derivation_dict(derivation: DerivationSpec | None) -> dict:
    if derivation is None:
        return {}
    return {
        "rule": derivation.rule,
        "source": derivation.source,
        "scale_to_category": dict(derivation.scale_to_category),
        "tie": derivation.tie,
        "priority": list(derivation.priority),
    }
