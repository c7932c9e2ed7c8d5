"""The case pages, spliced into the "sales" namespace (/sales/)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
