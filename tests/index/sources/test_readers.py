"""Reading files, directories and in-memory content into articles, and every way a source can be bad."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path
from typing import NoReturn

import pytest

from index.errors import SourceError
from index.models import Article
from index.sources.readers import (
    MAX_BYTES,
    decode_text,
    kind_for_name,
    read_path,
    read_text_source,
    slug,
    source_files,
)
from tests.conftest import STORY

STORY_TITLE = "Working on the Twitter AI Project, Elon Musk Purchases 10,000 GPUs"
FIXTURES = Path(__file__).parent / "fixtures"
NEWS_PAGE = FIXTURES / "news-article.html"

NEWS_PARAGRAPHS = (
    "The Northgate harbour bridge reopened to traffic on Monday morning, ending two years of closures that "
    "forced commuters onto a ferry service and a forty-minute detour around the bay.",
    "City engineers replaced all 212 steel cables and the deck surface, and strengthened the piers against "
    "storm surges that have grown more frequent along this stretch of coast.",
    '"The bridge is now stronger than the day it first opened," said the city\'s chief engineer, Tomas Berg, '
    "as the first buses crossed shortly after six o'clock.",
    "The repair cost 148 million euros, about twenty million more than planned, mostly because corrosion "
    "inside the north tower was worse than early surveys had shown.",
    "Local shop owners on both ends of the bridge said trade had fallen by a third during the closure, and "
    "several asked the council for help with rents.",
    "The council said the ferry service will continue on weekends until the end of the summer, while it "
    "studies how many passengers still use it.",
    "Cyclists get a separate lane on the east side of the deck for the first time, protected from traffic by "
    "a low concrete barrier.",
)


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path.resolve()


def error_of(path: Path, **kwargs: int) -> str:
    with pytest.raises(SourceError) as excinfo:
        read_path(path, **kwargs)
    return str(excinfo.value)


# -- the built-in story -------------------------------------------------------------------------------------


def test_story_file_reads_as_one_article_of_fifteen_passages() -> None:
    [article] = read_path(STORY)
    assert article.source_id == "musk-twitter-ai-gpus"
    assert article.title == STORY_TITLE
    assert article.origin == str(STORY.resolve())
    assert len(article.paragraphs) == 15
    assert article.paragraphs[0] == (
        "Twitter is currently preparing an AI project by hiring former DeepMind researchers, and to "
        "support the "
        "project Elon Musk is buying up 10,000 GPUs."
    )
    assert article.paragraphs[-1].endswith(
        "Will Musk be able to compete with OpenAI directly? We will see later."
    )
    assert (article.url, article.outlet, article.author, article.published) == (None, None, None, None)


def test_story_from_memory_matches_the_file() -> None:
    text = STORY.read_text(encoding="utf-8")
    [article] = read_text_source(text, origin="builtin:story", name="musk-twitter-ai-gpus.txt", kind="text")
    assert article == Article(
        source_id="musk-twitter-ai-gpus",
        title=STORY_TITLE,
        paragraphs=read_path(STORY)[0].paragraphs,
        origin="builtin:story",
    )


# -- HTML ---------------------------------------------------------------------------------------------------


def test_news_page_gives_article_text_and_metadata() -> None:
    [article] = read_path(NEWS_PAGE)
    assert article == Article(
        source_id="news-article",
        title="Harbour bridge reopens after two-year repair",
        paragraphs=NEWS_PARAGRAPHS,
        origin=str(NEWS_PAGE.resolve()),
        url="https://www.coastalherald.example/news/2024/03/11/harbour-bridge-reopens",
        outlet="The Coastal Herald",
        author="Maria Lindqvist",
        published="2024-03-11",
    )


def test_news_page_boilerplate_is_left_out() -> None:
    text = " ".join(read_path(NEWS_PAGE)[0].paragraphs)
    for boilerplate in (
        "cookies",
        "Subscribe",
        "Advertisement",
        "Sponsored",
        "Related stories",
        "Ferry timetable",
    ):
        assert boilerplate not in text
    for comment in ("bridgefan42", "scandal", "Sundays in winter", "Share on", "newsletter", "All rights"):
        assert comment not in text


def test_html_is_read_without_touching_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("the HTML reader tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    html = NEWS_PAGE.read_text(encoding="utf-8")
    url = "https://www.coastalherald.example/news/2024/03/11/harbour-bridge-reopens"
    [article] = read_text_source(html, origin=url, name="harbour.html", kind="html")
    assert article.paragraphs == NEWS_PARAGRAPHS
    assert article.origin == url


def test_html_subheadings_are_not_passages_and_list_markers_go() -> None:
    html = (
        "<html><head><title>Rail strike ends</title></head><body><article><h1>Rail strike ends</h1>"
        "<p>Train drivers returned to work on Thursday after their union accepted a pay offer worth nine "
        "percent over two years.</p><h2>What the deal contains</h2><p>The agreement raises basic pay by five "
        "percent this year and four percent next year, and adds a bonus for night shifts.</p>"
        "<ol><li>Five percent rise this year.</li><li>Four percent rise next year.</li></ol></article>"
        "</body></html>"
    )
    [article] = read_text_source(html, origin="upload", name="Rail Strike.HTML", kind="html")
    assert article.source_id == "rail-strike"
    assert article.title == "Rail strike ends"
    assert article.paragraphs == (
        "Train drivers returned to work on Thursday after their union accepted a pay offer worth nine "
        "percent "
        "over two years.",
        "The agreement raises basic pay by five percent this year and four percent next year, and adds "
        "a bonus "
        "for night shifts.",
        "Five percent rise this year.",
        "Four percent rise next year.",
    )


def test_html_fragment_upload_is_read_and_titled_by_its_name() -> None:
    [article] = read_text_source(
        "<p>Only a fragment of a page.</p>", origin="upload", name="frag.htm", kind="html"
    )
    assert (article.title, article.paragraphs) == ("frag", ("Only a fragment of a page.",))


def test_html_without_text_is_an_error(tmp_path: Path) -> None:
    page = write(tmp_path / "blank.html", "<html><body></body></html>")
    assert error_of(page) == f"{page}: no article text found in the HTML"


# -- text and Markdown --------------------------------------------------------------------------------------

FRONT_MATTER = """---
title: "Quoted: a title with a colon"
url: https://example.com/a
outlet: 'The Daily Example'
author: Jo   Bloggs
published: 2024-03-11T08:30:00Z
category: ignored
---
Quoted: a title with a colon

First paragraph.

Second paragraph.
"""


def test_front_matter_gives_metadata_and_title(tmp_path: Path) -> None:
    path = write(tmp_path / "With Front Matter.txt", FRONT_MATTER)
    assert read_path(path) == [
        Article(
            source_id="with-front-matter",
            title="Quoted: a title with a colon",
            paragraphs=("First paragraph.", "Second paragraph."),
            origin=str(path),
            url="https://example.com/a",
            outlet="The Daily Example",
            author="Jo Bloggs",
            published="2024-03-11",
        )
    ]


def test_unclosed_front_matter_is_text(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "---\ntitle: x\n\nBody text.")
    [article] = read_path(path)
    assert (article.title, article.paragraphs) == ("title: x", ("Body text.",))


def test_markdown_file(tmp_path: Path) -> None:
    markdown = (
        "# The *Big* Story\n\nIntro with a [link](https://x.example) and **bold**.\n\n## Details\n\n"
        "- first point\n- second point\n\n```\ncode()\n```\n\nClosing line."
    )
    path = write(tmp_path / "story.md", markdown)
    [article] = read_path(path)
    assert article.title == "The Big Story"
    assert article.paragraphs == (
        "Intro with a link and bold.",
        "first point",
        "second point",
        "Closing line.",
    )


def test_markdown_front_matter_title_wins(tmp_path: Path) -> None:
    path = write(tmp_path / "story.markdown", "---\ntitle: Given\n---\n# Heading\n\nText.")
    [article] = read_path(path)
    assert (article.title, article.paragraphs) == ("Given", ("Text.",))


def test_bom_at_start_is_dropped(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.txt", "\ufeffTitle line\n\nBody.".encode())
    [article] = read_path(path)
    assert (article.title, article.paragraphs) == ("Title line", ("Body.",))


def test_crlf_file_reads_like_lf(tmp_path: Path) -> None:
    crlf = write(tmp_path / "crlf.txt", b"Title\r\n\r\nOne.\r\n\r\nTwo.\r\n")
    lf = write(tmp_path / "lf.txt", b"Title\n\nOne.\n\nTwo.\n")
    assert read_path(crlf)[0].paragraphs == read_path(lf)[0].paragraphs == ("One.", "Two.")


def test_control_characters_and_space_runs_are_cleaned(tmp_path: Path) -> None:
    path = write(tmp_path / "ctl.txt", "Title\n\nA\x07 bell   and\x1b an   escape.\u00a0\u00a0Cafe\u0301.")
    assert read_path(path)[0].paragraphs == ("A bell and an escape. Café.",)


# -- bad files ----------------------------------------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.txt", "")
    assert error_of(path) == f"{path}: empty file"


def test_whitespace_only_file(tmp_path: Path) -> None:
    path = write(tmp_path / "blank.md", " \n\n\t\n")
    assert error_of(path) == f"{path}: empty file"


def test_only_front_matter(tmp_path: Path) -> None:
    path = write(tmp_path / "meta.txt", "---\ntitle: Just metadata\n---\n")
    assert error_of(path) == f"{path}: no paragraphs left after cleaning"


def test_only_title(tmp_path: Path) -> None:
    path = write(tmp_path / "title.txt", "A title and nothing else\n\n")
    assert error_of(path) == f"{path}: no paragraphs left after cleaning"


def test_invalid_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    path = write(tmp_path / "latin1.txt", "Title\n\nCafé".encode("latin-1"))
    assert error_of(path) == f"{path}: not valid UTF-8 (invalid byte at offset 10)"


def test_nul_bytes_mean_binary(tmp_path: Path) -> None:
    path = write(tmp_path / "binary.txt", b"Title\n\n\x00\x01\x02")
    assert error_of(path) == f"{path}: binary file (contains NUL bytes), not text"


def test_file_over_the_cap_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "big.txt", "Title\n\n" + "word " * 400)

    def no_open(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("an over-size file was opened")

    monkeypatch.setattr(Path, "open", no_open)
    assert error_of(path, max_bytes=1000) == f"{path}: file is 2,007 bytes, over the 1,000-byte limit"


def test_an_operators_file_over_the_upload_cap_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)  # sparse: no 50 MB written to disk
    # No size refusal: the file is read, and what it holds (NUL bytes) is what is refused.
    assert error_of(path) == f"{path.resolve()}: binary file (contains NUL bytes), not text"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.txt"
    assert error_of(path) == f"{path.resolve()}: no such file or directory"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a FIFO")
def test_path_that_is_neither_file_nor_directory(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    assert error_of(fifo) == f"{fifo.resolve()}: a named pipe (FIFO), not a regular file or directory"


def test_unsupported_file_given_directly(tmp_path: Path) -> None:
    path = write(tmp_path / "report.pdf", b"%PDF-1.4")
    assert error_of(path) == (
        f"{path}: unsupported file type '.pdf'; supported: .htm, .html, .jsonl, .markdown, .md, .text, .txt"
    )


# -- JSONL --------------------------------------------------------------------------------------------------


def record(**fields: object) -> str:
    base: dict[str, object] = {"id": "a", "title": "A title", "text": "Para one.\n\nPara two."}
    base.update(fields)
    return json.dumps({key: value for key, value in base.items() if value is not ...})


def test_jsonl_articles(tmp_path: Path) -> None:
    lines = [
        record(id="first", url="https://x.example/1", outlet="X", author="Ann", published="2024-01-02"),
        "",
        "   ",
        record(id="second", title="Second", text="Only.\r\n\r\nTwo.", url=None, published=None),
    ]
    path = write(tmp_path / "feed.jsonl", "\n".join(lines) + "\n")
    assert read_path(path) == [
        Article(
            "first",
            "A title",
            ("Para one.", "Para two."),
            str(path),
            "https://x.example/1",
            "X",
            "Ann",
            "2024-01-02",
        ),
        Article("second", "Second", ("Only.", "Two."), str(path)),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": ', "malformed JSON (Expecting value at column 8)"),
        ("[1, 2]", "not a JSON object"),
        ('"text"', "not a JSON object"),
        (record(title=...), "missing 'title'"),
        (record(id=...), "missing 'id'"),
        (record(text=...), "missing 'text'"),
        (record(title=""), "'title' is empty"),
        (record(id="  "), "'id' is empty"),
        (record(title=5), "'title' must be a string"),
        (record(id=7), "'id' must be a string"),
        (record(text=["a"]), "'text' must be a string"),
        (record(title=None), "'title' must be a string"),
        (record(url=5), "'url' must be a string or null"),
        (record(published=20240101), "'published' must be a string or null"),
        (record(text="***\n\n---"), "no paragraphs left after cleaning"),
    ],
)
def test_jsonl_error_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path / "feed.jsonl", "\n".join([record(id="ok"), "", line]))
    assert error_of(path) == f"{path}: line 3: {message}"


def test_jsonl_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "feed.jsonl", "\n".join([record(id="x"), record(id="y"), "", record(id="x")]))
    assert error_of(path) == f"{path}: line 4: duplicate id 'x' (first on line 1)"


def test_jsonl_of_blank_lines_is_empty(tmp_path: Path) -> None:
    path = write(tmp_path / "feed.jsonl", "\n\n  \n")
    assert error_of(path) == f"{path}: empty file"


def test_ten_megabyte_jsonl_reads_every_article(tmp_path: Path) -> None:
    # How fast is for the benchmarks to say (benchmarks/scale.py), not for a timed test.
    text = STORY.read_text(encoding="utf-8")
    line_count = 10_000_000 // len(record(title=STORY_TITLE, text=text)) + 1
    path = write(
        tmp_path / "big.jsonl",
        "\n".join(record(id=f"a{n}", title=STORY_TITLE, text=text) for n in range(line_count)),
    )
    articles = read_path(path)
    assert len(articles) == line_count
    assert articles[-1].paragraphs[0].startswith("Twitter is currently preparing")


# -- directories --------------------------------------------------------------------------------------------


def test_directory_with_mixed_and_nested_files(tmp_path: Path) -> None:
    root = tmp_path / "sources"
    notes = write(root / "a-notes.md", "# Notes\n\nA note.")
    story = write(root / "b-story.txt", "Story\n\nA story.")
    page = root / "sub" / "c-page.html"
    page.parent.mkdir(parents=True)
    shutil.copy(NEWS_PAGE, page)
    feed = write(root / "sub" / "deeper" / "d-feed.jsonl", record(id="feed-1") + "\n" + record(id="feed-2"))
    write(root / "image.png", b"\x89PNG\x00")
    write(root / "data.csv", "a,b\n1,2\n")
    write(root / "README", "no extension")
    write(root / ".hidden.txt", "Hidden\n\nSkipped.")
    write(root / ".git" / "notes.txt", "Hidden dir\n\nSkipped.")

    articles = read_path(root)
    assert [(a.source_id, a.origin) for a in articles] == [
        ("a-notes", str(notes)),
        ("b-story", str(story)),
        ("c-page", str(page.resolve())),
        ("feed-1", str(feed)),
        ("feed-2", str(feed)),
    ]
    assert articles[1].paragraphs == ("A story.",)
    assert articles[2].paragraphs == NEWS_PARAGRAPHS
    assert source_files(root) == [notes, story, page.resolve(), feed]


def test_empty_directory(tmp_path: Path) -> None:
    assert error_of(tmp_path) == (
        f"{tmp_path.resolve()}: no supported files (supported: .htm, .html, .jsonl, .markdown, .md, "
        ".text, .txt)"
    )


def test_directory_of_only_unsupported_and_hidden_files(tmp_path: Path) -> None:
    write(tmp_path / "photo.jpg", b"\xff\xd8")
    write(tmp_path / ".secret.txt", "Secret\n\nText.")
    assert error_of(tmp_path).startswith(f"{tmp_path.resolve()}: no supported files")


def test_bad_file_in_directory_names_that_file(tmp_path: Path) -> None:
    write(tmp_path / "good.txt", "Good\n\nText.")
    bad = write(tmp_path / "nested" / "bad.txt", b"")
    assert error_of(tmp_path) == f"{bad}: empty file"


def test_directory_with_two_files_of_one_stem(tmp_path: Path) -> None:
    first = write(tmp_path / "one" / "story.txt", "Story\n\nOne.")
    second = write(tmp_path / "two" / "story.md", "Story\n\nTwo.")
    assert error_of(tmp_path) == f"{tmp_path.resolve()}: duplicate source id 'story' ({first} and {second})"


# -- names, kinds and decoding ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.txt", "text"),
        ("a.TEXT", "text"),
        ("a.md", "markdown"),
        ("a.markdown", "markdown"),
        ("a.html", "html"),
        ("a.Htm", "html"),
        ("dir/a.jsonl", "jsonl"),
    ],
)
def test_kind_for_name(name: str, kind: str) -> None:
    assert kind_for_name(name) == kind


def test_kind_for_name_without_extension() -> None:
    with pytest.raises(SourceError) as excinfo:
        kind_for_name("README")
    assert str(excinfo.value) == (
        "README: unsupported file type (no extension); supported: .htm, .html, .jsonl, .markdown, .md, "
        ".text, .txt"
    )


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("Ünïcode File (draft) v2!", "unicode-file-draft-v2"),
        ("musk-twitter-ai-gpus", "musk-twitter-ai-gpus"),
        ("x" * 100, "x" * 64),
        ("a" * 63 + " b", "a" * 63),
        ("!!!", "source"),
        ("日本語", "source"),
        ("", "source"),
    ],
)
def test_slug(stem: str, expected: str) -> None:
    assert slug(stem) == expected


def test_read_text_source_rejects_unknown_kind_and_nul() -> None:
    with pytest.raises(SourceError, match=r"^x\.pdf: unsupported kind 'pdf'"):
        read_text_source("text", origin="o", name="x.pdf", kind="pdf")
    with pytest.raises(SourceError, match=r"^up\.txt: binary content"):
        read_text_source("Title\n\n\x00", origin="o", name="up.txt", kind="text")


def test_decode_text() -> None:
    assert decode_text("\ufeffCafé".encode(), name="a.txt") == "Café"
    with pytest.raises(SourceError, match=r"^a\.txt: not valid UTF-8 \(invalid byte at offset 3\)$"):
        decode_text(b"abc\xff", name="a.txt")
