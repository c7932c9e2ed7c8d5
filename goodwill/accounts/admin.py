from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from goodwill.accounts.models import User


@admin.register(User)
class GoodwillUserAdmin(UserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_active", "last_login")
    list_filter = ("is_active", "is_superuser", "groups")
