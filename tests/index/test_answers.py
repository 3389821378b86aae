"""Sentence ends and the best sentence of a passage."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from index.answers import SentenceMatcher
from index.engine.sentences import sentence_ends

TEXTS = st.text(alphabet="aAbBzZ .!?…\"'”’)]([“‘ \n\t019é,", max_size=150)


@settings(max_examples=500, deadline=None)
@given(TEXTS)
def test_sentence_ends_cut_a_text_into_non_blank_sentences(text: str) -> None:
    ends = sentence_ends(text)
    if not text.strip():
        assert ends == []
        return
    assert ends[-1] == len(text)
    starts = [0, *ends[:-1]]
    assert all(start < end for start, end in zip(starts, ends, strict=True))
    assert all(text[start:end].strip() for start, end in zip(starts, ends, strict=True))


def test_the_best_sentence_holds_the_most_question_weight_and_the_first_wins_a_tie() -> None:
    text = "Musk bought GPUs. OpenAI replied to Musk. Musk left OpenAI in 2018."
    matcher = SentenceMatcher({"musk": 0.5, "openai": 1.0, "2018": 2.0})
    assert matcher.best_sentence(text) == "Musk left OpenAI in 2018."
    assert SentenceMatcher({"musk": 1.0}).best_sentence(text) == "Musk bought GPUs."
    assert SentenceMatcher({"replied": 1.0}).best_sentence(text) == "OpenAI replied to Musk."
