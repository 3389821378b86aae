"""The tokenizer: normalisation, possessives, glued words, numbers, stopwords and stemming."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.engine.tokenizer import Tokenizer


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


def test_curly_and_straight_possessives_meet(tokenizer: Tokenizer) -> None:
    assert tokenizer.tokenize("Musk’s feud") == tokenizer.tokenize("Musk's feud") == ["musk", "feud"]
    assert tokenizer.tokenize("the founders’ lab") == ["founder", "lab"]


def test_curly_quotes_and_case_fold(tokenizer: Tokenizer) -> None:
    assert tokenizer.tokenize("“OPENAI” ‘Lab’") == tokenizer.tokenize("\"openai\" 'lab'") == ["openai", "lab"]


def test_glued_words_are_found_by_their_parts(tokenizer: Tokenizer) -> None:
    terms = tokenizer.tokenize("According to Business InsiderElon Musk")
    assert {"insid", "elon", "insiderelon"} <= set(terms)
    assert set(tokenizer.tokenize("Elon", for_query=True)) <= set(terms)


def test_a_question_keeps_its_own_compound_whole(tokenizer: Tokenizer) -> None:
    assert tokenizer.tokenize("OpenAI", for_query=True) == ["openai"]
    assert tokenizer.tokenize("OpenAI") == ["openai", "open", "ai"]


def test_numbers_are_findable_in_any_spelling(tokenizer: Tokenizer) -> None:
    assert "10000" in tokenizer.tokenize("10,000 GPUs")
    assert tokenizer.tokenize("10000", for_query=True) == ["10000"]
    assert tokenizer.tokenize("$1 billion") == ["1", "billion"]
    assert tokenizer.tokenize("3.5 percent") == ["3.5", "percent"]
    assert tokenizer.tokenize("in 2015") == ["2015"]


def test_acronym_plurals_meet_their_singular(tokenizer: Tokenizer) -> None:
    assert tokenizer.tokenize("GPUs") == tokenizer.tokenize("GPU") == ["gpu"]


def test_stemming_and_stopwords(tokenizer: Tokenizer) -> None:
    assert tokenizer.tokenize("Why did Musk leave OpenAI?", for_query=True) == ["musk", "leav", "openai"]
    assert tokenizer.tokenize("leaving") == ["leav"]
    assert tokenizer.tokenize("co-founded", for_query=True) == ["co", "found"]
    assert "cofound" in tokenizer.tokenize("co-founded")


def test_accents_and_invisible_characters(tokenizer: Tokenizer) -> None:
    assert tokenizer.tokenize("Café") == tokenizer.tokenize("cafe")
    assert tokenizer.tokenize("Op\u200benAI") == tokenizer.tokenize("OpenAI")
    assert tokenizer.tokenize("ﬁnance") == tokenizer.tokenize("finance")  # NFKC folds the ligature


@pytest.mark.parametrize("text", ["", "   ", "?!", "the of and", "...", "'''", "- - -", "_-", "'_-_'"])
def test_text_without_words_gives_no_terms(tokenizer: Tokenizer, text: str) -> None:
    assert tokenizer.tokenize(text) == []
    assert tokenizer.tokenize(text, for_query=True) == []


@given(st.text(max_size=300))
def test_any_text_tokenizes_to_non_empty_terms(text: str) -> None:
    terms = Tokenizer().tokenize(text)
    assert all(term and not term.isspace() for term in terms)
