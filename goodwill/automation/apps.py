from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "goodwill.automation"
    label = "automation"
    verbose_name = "Automation"

    def ready(self) -> None:
        from goodwill.automation import hooks

        hooks.install()
