from django.apps import AppConfig


class OpsConfig(AppConfig):
    """The commands that run Goodwill as a whole: ``goodwill demo`` and ``goodwill worker``."""

    name = "goodwill.ops"
    label = "ops"
    verbose_name = "Operations"
