from hypothesis import given
from hypothesis import strategies as st

from goodwill.lib.text import fold, name_key


def test_fold_strips_accents_case_and_spaces() -> None:
    assert fold("  Zoë   MÜLLER ") == "zoe muller"
    assert fold("Straße Łódź Søren") == "strasse lodz soren"
    assert fold("田中 太郎") == "田中 太郎"


def test_name_key_ignores_punctuation_and_legal_forms() -> None:
    assert name_key("ACME Ltd.") == name_key("Acme, LTD") == "acme"
    assert name_key("Müller Maschinenbau GmbH") == "muller maschinenbau"
    assert name_key("GmbH") == "gmbh"  # a name made only of a legal form keeps it


@given(st.text())
def test_fold_is_idempotent(value: str) -> None:
    assert fold(fold(value)) == fold(value)
