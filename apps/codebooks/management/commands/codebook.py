"""Import or export a coding system from the command line.

python manage.py codebook import --project 3 pacs-2.1.yaml
python manage.py codebook export 12 --format qdc --output pacs.qdc
python manage.py codebook list --project 3
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.codebooks.models import CodingSystem
from apps.codebooks.services import coding_system_export, coding_system_import_file
from apps.projects.errors import DomainError
from apps.projects.models import Project


class Command(BaseCommand):
    help = "Import a coding system file (YAML, JSON, REFI-QDA .qdc) into a project, or export one."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="import a codebook file into a project")
        imp.add_argument("file", type=Path)
        imp.add_argument("--project", type=int, required=True, help="project id")
        exp = sub.add_parser("export", help="export a coding system")
        exp.add_argument("coding_system", type=int, help="coding system id")
        exp.add_argument("--format", choices=["yaml", "json", "qdc"], default="yaml")
        exp.add_argument("--output", type=Path, help="file to write (default: standard output)")
        lst = sub.add_parser("list", help="list a project's coding systems")
        lst.add_argument("--project", type=int, required=True)

    def handle(self, *args, **options):
        action = options["action"]
        if action == "import":
            project = self._project(options["project"])
            path: Path = options["file"]
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
            try:
                system = coding_system_import_file(
                    project=project, filename=path.name, content=path.read_bytes()
                )
            except DomainError as exc:
                lines = [exc.message]
                for issue in exc.details or []:
                    if isinstance(issue, dict):
                        where = (
                            f"{issue['file']}:{issue['line']}"
                            if issue.get("line")
                            else issue["file"]
                        )
                        field = f" {issue['field']}:" if issue.get("field") else ""
                        lines.append(f"  {where}:{field} {issue['message']}")
                raise CommandError("\n".join(lines)) from None
            self.stdout.write(
                f"Imported {system.name} version {system.version} as coding system {system.pk} "
                f"({system.markers.count()} markers) into project {project.pk}."
            )
        elif action == "export":
            system = CodingSystem.objects.filter(pk=options["coding_system"]).first()
            if system is None:
                raise CommandError(f"No coding system {options['coding_system']}.")
            content, _, filename = coding_system_export(system=system, format=options["format"])
            if options["output"]:
                options["output"].write_bytes(content)
                self.stdout.write(f"Wrote {options['output']} ({filename}).")
            else:
                self.stdout.write(content.decode(), ending="")
        else:
            project = self._project(options["project"])
            for system in CodingSystem.objects.filter(project=project):
                self.stdout.write(f"{system.pk}\t{system.key}:{system.version}\t{system.name}")

    def _project(self, project_id: int) -> Project:
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise CommandError(f"No project {project_id}.")
        return project
