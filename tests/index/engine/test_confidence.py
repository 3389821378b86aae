"""Answer or decline: the evidence of the best passage, a misspelt name forgiven, an incidental word not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from index import StoryIndex
from index.engine.confidence import COMMONEST, RAREST, Evidence, assess, confidence, english_weights
from index.engine.names import one_slip_apart, one_slip_variants
from index.engine.tokenizer import Tokenizer
from index.models import ANSWER_THRESHOLD, Article

TOKENIZER = Tokenizer()

SINGER = Article(
    "singer",
    "Beyoncé",
    (
        "Beyoncé Giselle Knowles-Carter is an American singer who rose to fame in the late 1990s.",
        "Beyoncé married the rapper Jay-Z in April 2008 in a private ceremony in New York.",
        "Her U.S. tour of 2016 sold more than two million tickets across forty stadiums.",
    ),
    origin="test",
)


@pytest.fixture
def singer(tmp_path: Path) -> Iterator[StoryIndex]:
    with StoryIndex(tmp_path / "db.sqlite", with_builtin_story=False) as index:
        index.add_articles([SINGER])
        yield index


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("beyons", "beyonc", True),  # a letter changed
        ("liszi", "liszt", True),
        ("tempat", "temptat", True),  # a letter left out
        ("temptat", "tempat", True),
        ("euorpean", "european", True),  # two neighbours swapped
        ("beyonc", "beyonc", False),  # the same word is no slip
        ("nore", "notr", False),  # two slips
        ("ab", "abcd", False),
    ],
)
def test_one_slip_apart(first: str, second: str, expected: bool) -> None:
    assert one_slip_apart(first, second) is expected


def test_english_weights_make_rare_words_count_and_the_kind_of_answer_count_least() -> None:
    weights = english_weights("How many stadiums did Beyoncé fill on the Formation tour?", TOKENIZER)
    assert weights["mani"] == COMMONEST  # "how many" asks for a number: the passage need not say "many"
    assert weights["beyonc"] > weights["stadium"] > weights["tour"] > COMMONEST
    assert english_weights("Zyxqv", TOKENIZER) == {"zyxqv": RAREST}


def test_more_evidence_is_more_confidence() -> None:
    weak = Evidence(0.2, 0.2, 0.5, 1, 4, unknown_name=False)
    strong = Evidence(0.9, 0.8, 1.0, 4, 4, unknown_name=False)
    named_unknown = Evidence(0.9, 0.8, 1.0, 4, 4, unknown_name=True)
    assert confidence(weak) < ANSWER_THRESHOLD < confidence(strong)
    assert confidence(named_unknown) < confidence(strong)


def test_a_name_misspelt_by_one_letter_is_searched_as_the_name(singer: StoryIndex) -> None:
    answer = singer.ask("Who did Beyonse marry?")
    assert answer.answered
    assert answer.results[0].paragraph == 2
    assert "never mention" not in answer.message


def test_a_name_is_forgiven_its_slip_however_big_the_vocabulary(
    singer: StoryIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past SLIP_SCAN terms sharing the name's first two letters, its slips are looked up instead.
    monkeypatch.setattr("index.engine.name_lookup.SLIP_SCAN", 0)
    assert singer._searcher().search("Who did Beyonse marry?", 3).corrections == {"beyons": "beyonc"}


def test_the_slips_looked_up_are_every_slip_that_keeps_the_first_two_letters() -> None:
    variants = one_slip_variants("beyons")
    assert {"beyonc", "beyon", "beyonse", "beyosn", "bebons"} <= set(variants)
    assert all(one_slip_apart("beyons", word) and word[:2] == "be" for word in variants)
    assert "beyons" not in variants and "xeyons" not in variants


def test_a_dotted_acronym_is_one_name(singer: StoryIndex) -> None:
    answer = singer.ask("How many tickets did the U.S. tour sell?")
    assert answer.answered and answer.results[0].paragraph == 3


def test_a_name_the_articles_never_mention_is_said_plainly(singer: StoryIndex) -> None:
    answer = singer.ask("What is the capital of France?")
    assert not answer.answered
    assert answer.message.startswith(
        "I couldn't find that in the indexed articles. They never mention France."
    )


def test_one_incidental_word_in_common_does_not_make_an_answer(singer: StoryIndex) -> None:
    # "private" is in paragraph 2, by chance: nothing else of the question is anywhere in the article.
    answer = singer.ask("Which private equity firm bought the hospital chain?")
    assert not answer.answered
    assert answer.results  # the closest passages are still shown, marked as not an answer
    assert answer.confidence < ANSWER_THRESHOLD


def test_a_passage_saying_the_question_in_other_words_is_more_surely_an_answer() -> None:
    question = "How long a pause in AI work did the letter ask for?"
    terms = TOKENIZER.tokenize(question, for_query=True)
    other_words = "An open letter suggested a six-month time lag for artificial intelligence development."
    unrelated = "An open letter about the harbour was signed by the mayor and read at the town hall."
    said, missed = (
        assess(question, terms, set(terms), False, (text, "News"), TOKENIZER)
        for text in (other_words, unrelated)
    )
    assert (said.covered, said.matched) == (missed.covered, missed.matched)  # the same shared words
    assert said.meaning > missed.meaning
    assert confidence(said) > confidence(missed)
