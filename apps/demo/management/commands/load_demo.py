"""Load the demo study once and print the demo accounts."""

from django.core.management.base import BaseCommand

from apps.demo.services import PASSWORD, PEOPLE, demo_is_loaded, demo_load


class Command(BaseCommand):
    help = "Load the invented demo study (once) and print the demo accounts."

    def handle(self, *args, **options):
        if demo_is_loaded():
            self.stdout.write("Demo study already loaded.")
        else:
            project = demo_load()
            self.stdout.write(self.style.SUCCESS(f"Loaded the demo study: {project.name}"))
        self.stdout.write(f"\nDemo accounts (password for all: {PASSWORD}):")
        for email, name, role in PEOPLE:
            self.stdout.write(f"  {role.label:<10} {email:<24} {name}")
        self.stdout.write("")
