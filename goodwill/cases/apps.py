from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "goodwill.cases"
    label = "cases"
    verbose_name = "Cases"

    def ready(self) -> None:
        from goodwill.cases import hooks

        hooks.install()
