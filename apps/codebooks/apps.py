from django.apps import AppConfig


class CodebooksConfig(AppConfig):
    name = "apps.codebooks"
    label = "codebooks"
