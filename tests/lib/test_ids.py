from __future__ import annotations

import pytest

from goodwill.lib.ids import MAX_ID, is_valid_id


@pytest.mark.parametrize("value", [1, "1", "42", str(MAX_ID)])
def test_ids_that_fit_a_column(value: object) -> None:
    assert is_valid_id(value)


@pytest.mark.parametrize(
    "value", ["", "0", "-1", "1.5", "abc", "²", "١٢", str(MAX_ID + 1), "9" * 40]
)
def test_anything_else_is_refused_without_raising(value: str) -> None:
    """Superscript and Arabic-Indic digits pass str.isdigit() but int() refuses them."""
    assert not is_valid_id(value)
