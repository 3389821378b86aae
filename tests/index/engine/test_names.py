"""A given name is searched as the surname the articles go on naming the person by, and nothing else is."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from index import StoryIndex
from index.engine.names import glued_after, goes_by, surname_after
from index.engine.tokenizer import Tokenizer
from index.models import Article

TOKENIZER = Tokenizer()


@pytest.mark.parametrize(
    ("given", "texts", "expected"),
    [
        ("Elon", ["Twitter and Elon Musk agree.", "Elon Musk’s plan was set."], "Musk"),
        ("elon", ["Then Elon Musk left."], "Musk"),  # the question may be typed in lower case
        ("Elon", ["Elon is a name.", "Elon Musk left."], None),  # once alone
        ("Elon", ["Elon Musk left.", "Elon Smith stayed."], None),  # two people
        ("New", ["New York grew.", "a new car"], None),  # a plain word too
        ("Astoria", ["the Waldorf Astoria Hotel"], None),  # inside a longer name
        ("York", ["He came to New York City."], None),
        ("Alan", ["Alan L. Bean flew."], None),  # an initial is no surname
        ("Elon", ["No such word here."], None),
    ],
)
def test_the_surname_is_the_one_name_that_always_follows(
    given: str, texts: list[str], expected: str | None
) -> None:
    assert surname_after(given, texts) == expected


@pytest.mark.parametrize(
    ("surname", "given", "texts", "expected"),
    [
        ("Musk", "Elon", ["Elon Musk bought GPUs.", "Musk left.", "Then Musk sued.", "Musk won."], True),
        ("World", "Guinness", ["Guinness World Records", "around the world"], False),  # a plain word too
        ("Hill", "Todt", ["Todt Hill", "Murray Hill", "Forest Hill is high.", "Hill said so."], False),
        ("Musk", "Elon", ["Elon Musk bought GPUs."], False),  # never alone
    ],
)
def test_a_person_goes_by_the_surname_alone(
    surname: str, given: str, texts: list[str], expected: bool
) -> None:
    assert goes_by(surname, given, texts) is expected


PEOPLE = Article(
    "people",
    "A rivalry",
    (
        "Elon Musk founded a rocket company, and Sam Altman ran a research lab.",
        "Musk left the board of the lab in 2018 after a quarrel over who would lead it.",
        "Musk later said the lab had strayed from its mission.",
        "Altman said the lab would raise money from investors.",
        "The Peking University study and the Sichuan University report were published.",
        "University leaders met in Beijing.",
    ),
    origin="test",
)


@pytest.fixture
def people(tmp_path: Path) -> Iterator[StoryIndex]:
    with StoryIndex(tmp_path / "db.sqlite", with_builtin_story=False) as index:
        index.add_articles([PEOPLE])
        yield index


def test_a_question_naming_a_person_by_the_given_name_finds_the_surname(people: StoryIndex) -> None:
    answer = people.ask("When did Elon quit the board?")
    assert answer.answered
    assert answer.results[0].paragraph == 2


def test_a_question_naming_the_person_in_full_is_read_as_written(people: StoryIndex) -> None:
    searched = people._searcher().search("When did Elon Musk quit the board?", 10)
    assert searched.corrections == {}
    assert "elon" in searched.terms


def test_a_word_before_the_head_of_several_names_is_not_a_given_name(people: StoryIndex) -> None:
    searched = people._searcher().search("What did the Peking study find?", 10)
    assert searched.corrections == {}
    assert searched.hits[0].passage.position == 5


def test_the_built_in_story_answers_a_question_about_elon_from_what_musk_did() -> None:
    with StoryIndex(":memory:") as story:
        searched = story._searcher().search("Why did Elon quit OpenAI?", 10)
        answer = story.ask("Why did Elon quit OpenAI?")
    assert searched.corrections == {"elon": "musk"}
    assert answer.answered
    assert {9, 10} & {passage.paragraph for passage in answer.results}


@pytest.mark.parametrize(
    ("word", "term", "expected"),
    [
        ("Engadget", "engadgetth", True),  # "Engadgetthe": the space after a link lost
        ("Reuters", "reutersthat", True),
        ("Super", "superb", False),  # "Superbeing" reads "superb": too little of the stopword is left
        ("Bart", "barton", False),  # "on" is too short to tell a glued word from another name
        ("Apple", "applesauc", False),  # no stopword
        ("Engadget", "engadget", False),  # the name itself
    ],
)
def test_a_name_glued_to_the_stopword_after_it(word: str, term: str, expected: bool) -> None:
    assert glued_after(word, term, TOKENIZER.tokenize) is expected


def test_a_name_the_articles_glue_to_the_next_word_is_found_there(tmp_path: Path) -> None:
    article = Article(
        "gadgets",
        "Twitter's plans",
        (
            "Reported from Engadgetthe project will create generative AI from Twitter data.",
            "Twitter bought GPUs for its data centres.",
        ),
        origin="test",
    )
    with StoryIndex(tmp_path / "db.sqlite", with_builtin_story=False) as index:
        index.add_articles([article])
        searched = index._searcher().search("What did Engadget report?", 10)
        answer = index.ask("What did Engadget report?")
    assert searched.corrections == {"engadget": "engadgetth"}
    assert answer.answered
    assert answer.results[0].paragraph == 1
