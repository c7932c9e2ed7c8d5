"""Routes of this part of the cases app (included by goodwill/cases/urls.py):
the kanban board and the calendar."""

from django.urls import URLPattern, path

from goodwill.cases import board_views

urlpatterns: list[URLPattern] = [
    path("kanban/", board_views.kanban, name="kanban"),
    path("kanban/column/<str:stage>/", board_views.kanban_column, name="kanban_column"),
    path("kanban/move/", board_views.kanban_move, name="kanban_move"),
    path("calendar/", board_views.calendar, name="calendar"),
    path("calendar/move/", board_views.calendar_move, name="calendar_move"),
]
