"""How the gateway plugs into the rest of Goodwill (installed from apps.ready)."""

from __future__ import annotations


def install() -> None:
    pass
