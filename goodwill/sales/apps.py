from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "goodwill.sales"
    label = "sales"
    verbose_name = "Sales and purchases"

    def ready(self) -> None:
        from goodwill.sales import hooks

        hooks.install()
