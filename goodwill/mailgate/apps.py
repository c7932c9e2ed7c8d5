from django.apps import AppConfig


class MailgateConfig(AppConfig):
    name = "goodwill.mailgate"
    label = "mailgate"
    verbose_name = "Email gateway"

    def ready(self) -> None:
        from goodwill.mailgate import hooks

        hooks.install()
