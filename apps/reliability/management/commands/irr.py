"""``python manage.py irr FILE``: inter-rater reliability of a ratings CSV coded anywhere."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.reliability.irr_cli import LEVELS, IrrInputError, run_irr


class Command(BaseCommand):
    help = (
        "Compute inter-rater reliability (percent agreement, kappas, alpha, AC1/AC2, PABAK, ICC) "
        "of a CSV: wide (unit id, then one column per coder) or --long (unit,coder,value); "
        "with --criterion COLUMN, agreement of every coder with that criterion column."
    )
    # A file-only tool: it touches neither the database nor URLs, so it must keep working
    # while other parts of the project are broken or unmigrated.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV with a header; an empty cell is a missing rating")
        parser.add_argument("--long", action="store_true", help="columns unit,coder,value")
        parser.add_argument(
            "--level", choices=LEVELS, default="nominal", help="level of measurement"
        )
        parser.add_argument("--categories", help="category order, comma-separated, e.g. a,b,c")
        parser.add_argument(
            "--bootstrap", type=int, default=0, metavar="N", help="bootstrap replicates for CIs"
        )
        parser.add_argument("--seed", type=int, help="random seed for the bootstrap")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print one JSON object"
        )
        parser.add_argument(
            "--criterion",
            metavar="COLUMN",
            help="compare every other column with this criterion column (e.g. the AAI)",
        )
        parser.add_argument(
            "--map",
            dest="criterion_map",
            help="coded category -> criterion class, default secure=F,avoidant=Ds,preoccupied=E",
        )
        parser.add_argument(
            "--collapse",
            help="2-way collapse of the coded categories, default secure=secure,"
            "avoidant=insecure,preoccupied=insecure",
        )
        parser.add_argument(
            "--policy",
            choices=("secondary", "exclude", "own_class"),
            default="secondary",
            help="U/CC criterion cells (written U/Ds): compare through the secondary class, "
            "exclude them, or keep U as its own class (needs a category mapped to U)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            text = run_irr(
                options["file"],
                long=options["long"],
                level=options["level"],
                categories=options["categories"],
                n_boot=options["bootstrap"],
                seed=options["seed"],
                as_json=options["as_json"],
                criterion=options["criterion"],
                criterion_map=options["criterion_map"],
                collapse=options["collapse"],
                policy=options["policy"],
            )
        except IrrInputError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(text)
