from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "goodwill.partners"
    label = "partners"
    verbose_name = "Partners"
