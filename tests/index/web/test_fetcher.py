"""Fetching links: what is refused (schemes, non-public addresses, redirects to them, size, time, type), how
bytes become text, what an article page yields, and re-fetching links at a reindex.

Every fetch goes to `tests.webserver` on 127.0.0.1, reached only because the tests allow 127.0.0.0/8, as an
operator would with STORYBOT_ALLOW_PRIVATE_URLS. Nothing leaves the machine: addresses outside loopback are
refused before any connection, and the tests check that no connection to them was even attempted.
"""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from index import SourceError, StoryIndex
from index.errors import BlockedAddress, FetchError
from index.sources.origins import UPLOAD_PREFIX
from index.web.fetcher import blocked_reason, decode_body, fetch
from index.web.policy import ALL_NETWORKS, FetchPolicy
from index.web.remote import link_loader, link_source_id, read_link, read_upload
from tests.webserver import SALTMARSH_PARAGRAPHS, SALTMARSH_TITLE, WebSite, article_page

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)
POLICY = FetchPolicy(allowed_networks=LOOPBACK, timeout=3.0)

TITLE = SALTMARSH_TITLE
PARAGRAPHS = SALTMARSH_PARAGRAPHS
CANONICAL = "https://harbourgazette.example/news/2024/05/27/saltmarsh-barrier"


@pytest_asyncio.fixture
async def site() -> AsyncIterator[WebSite]:
    async with WebSite() as web:
        web.page("/news/saltmarsh-barrier.html", article_page(TITLE, PARAGRAPHS, canonical=CANONICAL))
        yield web


@pytest_asyncio.fixture
async def connections(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[Any]]:
    """Every address the event loop is asked to connect a socket to (aiohttp connects through it)."""
    loop = asyncio.get_running_loop()
    attempts: list[Any] = []
    original = loop.sock_connect

    async def spy(sock: Any, address: Any) -> None:
        attempts.append(address[0])
        await original(sock, address)

    monkeypatch.setattr(loop, "sock_connect", spy)
    yield attempts


def fake_dns(table: dict[str, list[str]], calls: list[str] | None = None) -> Any:
    async def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise OSError(f"unknown host {host}")
        return table[host]

    return resolve


# -- refusals -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/a.txt",
        "gopher://example.com/",
        "javascript:alert(1)",
        "data:text/html,<p>hi</p>",
        "//example.com/a",
        "example.com/a",
    ],
)
async def test_only_http_and_https_links_are_fetched(url: str) -> None:
    with pytest.raises(FetchError, match="only http and https links can be fetched"):
        await fetch(url, FetchPolicy(allowed_networks=ALL_NETWORKS))


async def test_links_with_credentials_or_without_host_are_refused() -> None:
    with pytest.raises(FetchError, match="user name or password"):
        await fetch("http://admin:secret@example.com/", POLICY)
    with pytest.raises(FetchError, match="the link has no host"):
        await fetch("http:///path", POLICY)
    with pytest.raises(FetchError, match="not a valid link"):
        await fetch("http://example.com:99999/", POLICY)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("0.0.0.0", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not publicly routable"),  # carrier-grade NAT
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:10.0.0.1", "private"),  # IPv4-mapped IPv6
        ("::ffff:127.0.0.1", "loopback"),
        ("2002:a00:1::", "private"),  # 6to4 carrying 10.0.0.1
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private"),  # Teredo carrying 10.0.0.1
    ],
)
def test_non_public_addresses_are_named(address: str, reason: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


async def test_loopback_is_refused_unless_the_operator_allows_it(
    site: WebSite, connections: list[Any]
) -> None:
    url = site.url("/news/saltmarsh-barrier.html")
    with pytest.raises(BlockedAddress) as refused:
        await fetch(url, FetchPolicy())

    assert str(refused.value) == (
        f"{url}: refused, it leads to 127.0.0.1, a loopback address (only public addresses are fetched)"
    )
    assert site.requests == [] and connections == []
    assert (await fetch(url, POLICY)).media_type == "text/html"


async def test_a_name_is_checked_after_resolution(site: WebSite, connections: list[Any]) -> None:
    with pytest.raises(BlockedAddress, match="a loopback address"):
        await fetch(f"http://localhost:{site.port}/news/saltmarsh-barrier.html", FetchPolicy())
    assert site.requests == [] and connections == []


async def test_one_private_address_among_public_ones_refuses_the_name(connections: list[Any]) -> None:
    dns = fake_dns({"mixed.test": ["93.184.216.34", "10.0.0.1"]})
    with pytest.raises(BlockedAddress, match=r"leads to 10\.0\.0\.1, a private address"):
        await fetch("http://mixed.test/", POLICY, resolve=dns)
    assert connections == []


async def test_the_connection_goes_to_the_address_that_was_checked(
    site: WebSite, connections: list[Any]
) -> None:
    # The system resolver knows no "news.test": the page can only be reached through the checked address,
    # and the name is resolved once, so an answer that changes afterwards (DNS rebinding) is never used.
    calls: list[str] = []
    dns = fake_dns({"news.test": ["127.0.0.1"]}, calls)
    fetched = await fetch(f"http://news.test:{site.port}/news/saltmarsh-barrier.html", POLICY, resolve=dns)

    assert fetched.url == f"http://news.test:{site.port}/news/saltmarsh-barrier.html"
    assert calls == ["news.test"]
    assert connections == ["127.0.0.1"]
    assert site.requests[0].headers["Host"] == f"news.test:{site.port}"


async def test_a_redirect_to_a_private_address_is_refused_before_connecting(
    site: WebSite, connections: list[Any]
) -> None:
    site.redirect("/go", "http://10.0.0.1/admin")
    with pytest.raises(BlockedAddress) as refused:
        await fetch(site.url("/go"), POLICY)

    assert str(refused.value) == (
        "http://10.0.0.1/admin: refused, it leads to 10.0.0.1, a private address "
        "(only public addresses are fetched)"
    )
    assert "10.0.0.1" not in connections and connections == ["127.0.0.1"]


async def test_every_redirect_hop_is_checked(site: WebSite, connections: list[Any]) -> None:
    site.redirect("/to-name", "http://intranet.test/wiki", status=301)
    site.redirect("/to-metadata", "http://169.254.169.254/latest/meta-data/", status=307)
    site.redirect("/to-file", "file:///etc/passwd")
    dns = fake_dns({"intranet.test": ["192.168.1.20"]})

    with pytest.raises(BlockedAddress, match=r"192\.168\.1\.20, a private address"):
        await fetch(site.url("/to-name"), POLICY, resolve=dns)
    with pytest.raises(BlockedAddress, match=r"169\.254\.169\.254, a link-local address"):
        await fetch(site.url("/to-metadata"), POLICY)
    with pytest.raises(FetchError, match="only http and https"):
        await fetch(site.url("/to-file"), POLICY)
    assert set(connections) == {"127.0.0.1"}


async def test_redirects_are_followed_up_to_the_cap(site: WebSite) -> None:
    site.redirect("/old", "/older", status=301)
    site.redirect("/older", site.url("/news/saltmarsh-barrier.html"), status=308)
    site.redirect("/loop", "/loop")

    assert (await fetch(site.url("/old"), POLICY)).url == site.url("/news/saltmarsh-barrier.html")
    with pytest.raises(FetchError, match="more than 5 redirects"):
        await fetch(site.url("/loop"), POLICY)
    assert len(site.requests_for("/loop")) == 6


async def test_a_huge_response_is_refused_without_reading_it_all(site: WebSite) -> None:
    site.huge("/declared", 50_000_000, declare_length=True)
    site.huge("/streamed", 50_000_000, declare_length=False)
    policy = FetchPolicy(allowed_networks=LOOPBACK, max_bytes=1_000_000)

    with pytest.raises(FetchError) as declared:
        await fetch(site.url("/declared"), policy)
    with pytest.raises(FetchError) as streamed:
        await fetch(site.url("/streamed"), policy)

    assert str(declared.value).endswith(": 50,000,000 bytes, over the 1,000,000-byte limit")
    assert str(streamed.value).endswith(": more than the 1,000,000-byte limit")


async def test_a_gzip_bomb_is_cut_at_the_limit_of_decompressed_bytes(site: WebSite) -> None:
    # 100 MB of one letter compresses to about 100 kB: the cap must count what it inflates to.
    inflated = b"<html><body><p>" + b"A" * 100_000_000 + b"</p></body></html>"
    bomb = gzip.compress(inflated, compresslevel=9)
    assert len(bomb) < 1_000_000
    site.page("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError) as refused:
        await fetch(site.url("/bomb"), FetchPolicy(allowed_networks=LOOPBACK, max_bytes=1_000_000))
    assert str(refused.value).endswith(": more than the 1,000,000-byte limit")


async def test_a_slow_response_times_out(site: WebSite) -> None:
    site.slow("/slow", delay=30)
    started = time.perf_counter()
    with pytest.raises(FetchError) as slow:
        await fetch(site.url("/slow"), FetchPolicy(allowed_networks=LOOPBACK, timeout=0.5))

    assert str(slow.value) == f"{site.url('/slow')}: no complete answer within 0.5 seconds"
    assert time.perf_counter() - started < 10  # the time limit ended it, not the server's 30 s


@pytest.mark.parametrize("content_type", ["image/png", "application/octet-stream", "application/json"])
async def test_a_wrong_content_type_is_refused(site: WebSite, content_type: str) -> None:
    site.page("/thing", b"\x89PNG....", content_type)
    with pytest.raises(FetchError) as refused:
        await fetch(site.url("/thing"), POLICY)
    assert str(refused.value) == (
        f"{site.url('/thing')}: {content_type} is not a supported content type "
        "(application/xhtml+xml, text/html, text/markdown, text/plain)"
    )


async def test_an_error_status_is_reported(site: WebSite) -> None:
    with pytest.raises(FetchError, match=r"the server answered HTTP 404 Not Found$"):
        await fetch(site.url("/missing"), POLICY)
    site.page("/broken", "oops", "text/html", status=503)
    with pytest.raises(FetchError, match=r"HTTP 503 Service Unavailable$"):
        await fetch(site.url("/broken"), POLICY)


async def test_an_unreachable_host_is_reported() -> None:
    with pytest.raises(FetchError, match=r"^http://127.0.0.1:9/: cannot connect"):
        await fetch("http://127.0.0.1:9/", POLICY)
    with pytest.raises(FetchError, match=r"cannot resolve nowhere\.test"):
        await fetch("http://nowhere.test/", POLICY, resolve=fake_dns({}))


async def test_a_conditional_get_answered_304_is_not_modified(site: WebSite) -> None:
    site.page("/same", "<p>x</p>", headers={"ETag": '"v1"'})
    first = await fetch(site.url("/same"), POLICY)
    assert first.etag == '"v1"' and not first.not_modified
    site.page("/same", b"", status=304, headers={"ETag": '"v1"'})

    again = await fetch(site.url("/same"), POLICY, etag=first.etag)

    assert again.not_modified and again.body == b""
    assert site.requests_for("/same")[-1].headers["If-None-Match"] == '"v1"'


# -- character sets -----------------------------------------------------------------------------------------

CAFE = "Café crème – naïve “quotes” in Zürich"


@pytest.mark.parametrize(
    ("body", "charset", "expected"),
    [
        (CAFE.encode("cp1252"), "windows-1252", CAFE),  # from the header
        (CAFE.encode("utf-8"), "utf-8", CAFE),
        (
            f'<meta charset="windows-1252"><p>{CAFE}</p>'.encode("cp1252"),
            None,
            f'<meta charset="windows-1252"><p>{CAFE}</p>',
        ),
        # A wrong header (UTF-8 for windows-1252 bytes) gives way to the page's own <meta>.
        (
            f'<meta http-equiv="Content-Type" content="text/html; charset=windows-1252"><p>{CAFE}</p>'.encode(
                "cp1252"
            ),
            "utf-8",
            f'<meta http-equiv="Content-Type" content="text/html; charset=windows-1252"><p>{CAFE}</p>',
        ),
        (CAFE.encode("utf-8"), "x-no-such-charset", CAFE),  # an unknown charset: UTF-8
        ("Zürich".encode("latin-1"), "iso-8859-1", "Zürich"),  # latin-1 read as windows-1252, as browsers do
        (b"\xef\xbb\xbf" + CAFE.encode("utf-8"), "windows-1252", CAFE),  # a BOM wins
    ],
)
def test_bytes_are_decoded_with_the_right_charset(body: bytes, charset: str | None, expected: str) -> None:
    assert decode_body(body, charset) == expected


def test_undecodable_bytes_without_a_charset_are_replaced_not_fatal() -> None:
    assert decode_body(b"caf\xe9 \xff ok", None) == "caf\ufffd \ufffd ok"


async def test_a_page_without_a_charset_in_its_header_uses_its_meta(site: WebSite) -> None:
    page = article_page(TITLE.replace("delayed", "délayed"), PARAGRAPHS, charset_meta="windows-1252")
    site.page("/latin.html", page.encode("cp1252"), "text/html")
    [article] = await read_link(site.url("/latin.html"), POLICY)
    assert article.title == "Saltmarsh tidal barrier délayed again"


async def test_a_page_with_a_wrong_charset_in_its_header_uses_its_meta(site: WebSite) -> None:
    page = article_page("Zürich café opens", PARAGRAPHS, charset_meta="windows-1252")
    site.page("/wrong.html", page.encode("cp1252"), "text/html; charset=utf-8")
    [article] = await read_link(site.url("/wrong.html"), POLICY)
    assert article.title == "Zürich café opens"


# -- reading an article from a link --------------------------------------------------------------------------


async def test_an_article_page_gives_its_text_and_metadata(site: WebSite) -> None:
    url = site.url("/news/saltmarsh-barrier.html")
    [article] = await read_link(url, POLICY)

    assert article.source_id == "saltmarsh-barrier"
    assert article.title == TITLE
    assert article.paragraphs == PARAGRAPHS
    assert article.origin == url
    assert (article.url, article.outlet, article.author, article.published) == (
        CANONICAL,
        "The Harbour Gazette",
        "Mira Okafor",
        "2024-05-27",
    )
    text = " ".join(article.paragraphs)
    for boilerplate in (
        "cookies",
        "Subscribe",
        "Advertisement",
        "Sponsored",
        "Related",
        "waste of money",
        "newsletter",
        "All rights",
        "Share on",
    ):
        assert boilerplate not in text


async def test_text_and_markdown_links_are_read_too(site: WebSite) -> None:
    site.page(
        "/notes/update.md",
        "---\ntitle: Barrier update\noutlet: Council notes\npublished: 2024-06-01\n---\n"
        "# Barrier update\n\nThe eastern gate was repaired in May.\n\nTests resume in June.\n",
        "text/markdown; charset=utf-8",
    )
    site.page("/notes/plain.txt", "Gate repaired\n\nThe eastern gate was repaired in May.\n", "text/plain")

    [markdown] = await read_link(site.url("/notes/update.md"), POLICY)
    [plain] = await read_link(site.url("/notes/plain.txt"), POLICY)

    assert (markdown.title, markdown.outlet, markdown.published) == (
        "Barrier update",
        "Council notes",
        "2024-06-01",
    )
    assert markdown.paragraphs == ("The eastern gate was repaired in May.", "Tests resume in June.")
    assert markdown.url == site.url("/notes/update.md")
    assert (plain.source_id, plain.title, plain.url) == (
        "plain",
        "Gate repaired",
        site.url("/notes/plain.txt"),
    )


async def test_a_page_without_article_text_says_so(site: WebSite) -> None:
    page = "<html><head><title>Soon</title></head><body><script>load()</script></body></html>"
    site.page("/empty.html", page)
    with pytest.raises(SourceError, match=r"/empty.html: no article text found in the HTML$"):
        await read_link(site.url("/empty.html"), POLICY)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://news.example/2024/05/saltmarsh-barrier.html", "saltmarsh-barrier"),
        ("https://news.example/2024/05/Saltmarsh%20Barrier/", "saltmarsh-barrier"),
        ("https://news.example/", "news-example"),
        ("https://news.example", "news-example"),
    ],
)
def test_a_link_gets_a_readable_source_id(url: str, expected: str) -> None:
    assert link_source_id(url) == expected


# -- uploads -------------------------------------------------------------------------------------------------


def test_an_uploaded_file_is_read_by_its_name() -> None:
    [article] = read_upload(
        b"Moon base opens\n\nIt opened on Monday.\n", "moon.txt", scope="guild:1", max_bytes=100
    )
    assert (article.source_id, article.title, article.paragraphs) == (
        "moon",
        "Moon base opens",
        ("It opened on Monday.",),
    )
    assert article.origin == f"{UPLOAD_PREFIX}guild:1/moon.txt"


def test_an_uploaded_html_file_honours_its_meta_charset() -> None:
    page = article_page("Zürich café opens", PARAGRAPHS, charset_meta="windows-1252").encode("cp1252")
    [article] = read_upload(page, "cafe.html", scope="shared", max_bytes=1_000_000)
    assert article.title == "Zürich café opens"


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"x" * 101, "big.txt", "big.txt: 101 bytes, over the 100-byte limit"),
        (b"", "empty.md", "empty.md: empty file"),
        (
            b"%PDF-1.7",
            "paper.pdf",
            "paper.pdf: unsupported file type '.pdf'; supported: .htm, .html, .jsonl, "
            ".markdown, .md, .text, .txt",
        ),
        (b"caf\xe9", "latin.txt", "latin.txt: not valid UTF-8 (invalid byte at offset 3)"),
        (b'{"id": "a"}\n', "bad.jsonl", "bad.jsonl: line 1: missing 'title'"),
    ],
)
def test_a_bad_upload_says_why(data: bytes, name: str, message: str) -> None:
    with pytest.raises(SourceError) as refused:
        read_upload(data, name, scope="guild:1", max_bytes=100)
    assert str(refused.value) == message


# -- reindex re-fetches links --------------------------------------------------------------------------------


async def test_reindex_refetches_links_changed_unchanged_and_unreachable(
    site: WebSite, db_path: Path
) -> None:
    site.page("/news/second.html", article_page("Ferry fares rise", PARAGRAPHS[1:]))
    site.page("/news/third.html", article_page("Harbour festival returns", PARAGRAPHS[:3]))
    links = [
        site.url(path) for path in ("/news/saltmarsh-barrier.html", "/news/second.html", "/news/third.html")
    ]
    with StoryIndex(db_path, with_builtin_story=False) as index:
        for link in links:
            index.add_articles(await read_link(link, POLICY), "guild:1")
        before = {record.id: record for record in index.sources()}
        site.page(
            "/news/second.html", article_page("Ferry fares rise", [*PARAGRAPHS[1:], "Fares rise by 4%."])
        )
        site.remove("/news/third.html")

        report = await asyncio.to_thread(index.reindex, None, link_loader(POLICY))
        after = {record.id: record for record in index.sources()}

        assert (report.sources, report.added, report.changed, report.removed) == (3, 0, 1, 0)
        assert report.failed == ((links[2], f"{links[2]}: the server answered HTTP 404 Not Found"),)
        unchanged, changed, unreachable = after["saltmarsh-barrier"], after["second"], after["third"]
        assert unchanged.updated_at == before["saltmarsh-barrier"].updated_at and unchanged.status == "ok"
        assert changed.paragraphs == 4 and changed.status == "ok"
        assert unreachable.status == "stale" and unreachable.error == report.failed[0][1]
        assert unreachable.content_hash == before["third"].content_hash  # the last good copy is kept
        assert index.ask("When does the harbour festival return?", scopes=["guild:1"]).results
        passages = index.ask("How much do ferry fares rise?", top=5, scopes=["guild:1"]).results
        assert "Fares rise by 4%." in [passage.text for passage in passages]


async def test_reindex_keeps_uploads_as_they_are(db_path: Path) -> None:
    with StoryIndex(db_path, with_builtin_story=False) as index:
        index.add_articles(
            read_upload(b"Moon base\n\nIt opened.\n", "moon.txt", scope="guild:1", max_bytes=99), "guild:1"
        )
        report = await asyncio.to_thread(index.reindex, None, link_loader(POLICY))
        [moon] = index.sources()
    assert report.failed == () and moon.status == "ok"
