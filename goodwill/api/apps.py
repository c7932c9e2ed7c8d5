from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "goodwill.api"
    label = "api"
    verbose_name = "REST API"
