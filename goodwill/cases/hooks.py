"""How cases plug into the partner app without the partner app knowing them."""

from __future__ import annotations


def install() -> None:
    pass
