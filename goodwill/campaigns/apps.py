from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "goodwill.campaigns"
    label = "campaigns"
    verbose_name = "Campaigns"
