"""The tokenizer's regular-expression fast path gives exactly the character loop's
tokens, and leaves every error (with its message and column) to the loop."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.language import lexer
from gradcli.errors import ParseError

PIECES = list("0123456789.eE+-*/^() ,\t\nxy_aZ@#") + [
    "**", "1e5", "2.5e-3", "1.", ".5", "sin", "\u2212", "\u00e9", "\u0663", "\x0b", "  "]


def outcome(tokenize, text):
    try:
        return "tokens", tokenize(text)
    except ParseError as e:
        return "error", str(e), e.column


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=14).map("".join))
@pytest.mark.slow
def test_fast_path_agrees_with_the_character_loop(text):
    assert outcome(lexer.tokenize, text) == outcome(lexer._tokenize_checked, text)


def test_the_fast_path_declines_what_the_loop_must_report():
    for text in ["2x", "1e", "1.2.3", "x @ y", "1..2", "x\u2212y", "\u0663", "x\x0by"]:
        assert lexer._tokenize_fast(text) is None, text
        assert outcome(lexer.tokenize, text)[0] == "error", text


def test_columns_count_spaces_and_tabs():
    tokens = lexer.tokenize(" x\t+  2.5e1")
    assert [(t.kind, t.text, t.column) for t in tokens] == [
        ("name", "x", 2), ("op", "+", 4), ("number", "2.5e1", 7), ("end", "", 12)]
    assert tokens[2].value == 25.0


@pytest.mark.slow
@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=14).map("".join))
def test_the_parsers_token_lists_are_the_tokens(text):
    """lexer.scan (what the parser reads) gives each token's kind, text and column, or the
    character loop's error."""
    def lists(text):
        kinds, texts, columns = lexer.scan(text)
        return [lexer.Token(k, t, c, float(t) if k == lexer.NUMBER else None)
                for k, t, c in zip(kinds, texts, columns)]

    assert outcome(lists, text) == outcome(lexer._tokenize_checked, text)


def test_scan_drops_spaces_and_keeps_columns_from_the_text():
    kinds, texts, columns = lexer.scan("  3*x**2 -\t1.5e1")
    assert texts == ["3", "*", "x", "**", "2", "-", "1.5e1", ""]
    assert kinds == ["number", "op", "name", "op", "number", "op", "number", "end"]
    assert columns == [3, 4, 5, 6, 8, 10, 12, 17]
    assert lexer.scan("") == (["end"], [""], [1])
