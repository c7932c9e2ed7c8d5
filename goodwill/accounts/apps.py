from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "goodwill.accounts"
    label = "accounts"
    verbose_name = "Users and roles"

    def ready(self) -> None:
        from goodwill.accounts.roles import roles_sync_after_migrate

        # Groups get their permissions once every app's permissions exist.
        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="goodwill-roles-sync")


class GoodwillAdminConfig(admin_apps.AdminConfig):
    """The Django admin, restricted to administrators (see admin_site.py)."""

    default = False
    default_site = "goodwill.accounts.admin_site.GoodwillAdminSite"
