"""Hints for unknown names and number forms (gradcli/language/hints.py), against the registry."""
import pytest

import gradcli as gc
from gradcli.language.hints import (
    ALIASES,
    WRITE_INSTEAD,
    distance,
    nearest,
    number_then_name,
)
from gradcli.registry import language_functions

KNOWN = sorted(language_functions())


def test_every_alias_names_a_function_of_the_language_and_is_not_one():
    assert set(ALIASES.values()) <= set(KNOWN)
    assert not set(ALIASES) & set(KNOWN)
    assert not set(WRITE_INSTEAD) & set(KNOWN)


@pytest.mark.parametrize("a, b, d", [("sin", "sin", 0), ("sinn", "sin", 1), ("mdo", "mod", 1),
                                     ("gama", "gamma", 1), ("foo", "floor", 2),
                                     ("sigmod", "sigmoid", 1), ("", "abc", 3)])
def test_distance_counts_edits_and_swaps(a, b, d):
    assert distance(a, b) == d == distance(b, a)


@pytest.mark.parametrize("name, want", [("sinn", "sin"), ("mdo", "mod"), ("gama", "gamma"),
                                        ("sigmod", "sigmoid"), ("digama", "digamma"),
                                        ("erff", "erf"), ("lgama", "lgamma"), ("clipp", "clip"),
                                        ("foo", None), ("xyz", None), ("mo", None),
                                        ("modulo", None), ("sigma", None)])
def test_nearest_suggests_only_close_names(name, want):
    assert nearest(name, KNOWN) == want


@pytest.mark.parametrize("word, message", [
    ("0x1f", ("hexadecimal numbers are not part of the language", "write 31 for 0x1f")),
    ("0b101", ("binary numbers are not part of the language", "write 5 for 0b101")),
    ("0o17", ("octal numbers are not part of the language", "write 15 for 0o17")),
    ("1_000_000", ("'_' between digits is not part of the language", "write 1000000 for 1_000_000")),
    ("3e", ("the exponent of '3e' has no digits", "write 3e3 for an exponent, or 3*e to multiply by e")),
    ("2x", None), ("0xg", None), ("1_x", None)])
def test_number_forms_of_other_languages(word, message):
    assert number_then_name(word) == message


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_every_alias_is_suggested_by_the_parser(alias):
    with pytest.raises(gc.ParseError) as info:
        gc.parse(f"{alias}(x)")
    assert info.value.hint == f"did you mean '{ALIASES[alias]}'?"
