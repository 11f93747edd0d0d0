"""The `codebook` management command imports, lists and exports coding systems."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.codebooks.models import CodingSystem
from apps.codebooks.services import SHIPPED_DIR

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("codebook", *args, stdout=out)
    return out.getvalue()


def test_import_list_and_export_round_trip(project, tmp_path):
    imported = run("import", "--project", str(project.pk), str(SHIPPED_DIR / "3rs-2015.yaml"))
    system = CodingSystem.objects.get(project=project, key="3rs")

    listed = run("list", "--project", str(project.pk))
    target = tmp_path / "out.qdc"
    run("export", str(system.pk), "--format", "qdc", "--output", str(target))
    yaml_text = run("export", str(system.pk))

    assert f"coding system {system.pk}" in imported
    assert "3rs:2015" in listed
    assert target.read_bytes().startswith(b"<?xml")
    assert "key: 3rs" in yaml_text


def test_a_bad_file_fails_naming_the_line_and_field(project, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "format: coding-platform/codebook\nformat_version: 1\nkey: x\nname: X\nversion: '1'\n"
        "source: s\nlicence: l\nmarkers:\n  - code: m1\n    name: M\n    unit: elbow\n"
    )

    with pytest.raises(CommandError) as failure:
        run("import", "--project", str(project.pk), str(bad))

    assert "bad.yaml:11" in str(failure.value)
    assert "markers[0].unit" in str(failure.value)
    assert not CodingSystem.objects.filter(project=project, key="x").exists()
