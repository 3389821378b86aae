"""Fetch a link without letting it reach what it should not: the one HTTP client of storybot (aiohttp).

A link comes from a server admin or a feed, so it is untrusted. Only http(s) is fetched. The host is resolved
here, every address it resolves to is checked (loopback, private, link-local, reserved, multicast and other
non-global ranges are refused unless the operator allowed them), and the connection goes to the addresses
that were checked, through a resolver that knows nothing else: a DNS answer that changes between the check and
the connection (DNS rebinding) cannot redirect it. Redirects are followed by hand, each hop checked the same
way. A total timeout, a cap on redirects and on the bytes read (streamed: reading stops past the cap), and a
list of accepted content types bound the rest.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from index.errors import BlockedAddress, FetchError
from index.web.policy import ARTICLE_TYPES, FetchPolicy, IPAddress

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_META_PROBE = 4096
# Browsers read these labels as windows-1252 (WHATWG Encoding), and so do we: "latin-1" pages mean it.
_WINDOWS_1252_LABELS = frozenset({"iso-8859-1", "iso8859-1", "latin-1", "latin1", "us-ascii", "ascii"})

Resolve = Callable[[str, int], Awaitable[list[str]]]
"""Resolves a host name to its IP addresses (the system resolver by default; tests pass a fake DNS)."""


@dataclass(frozen=True)
class Fetched:
    """A response that passed every check: its final URL, type, body and validators for a conditional GET."""

    url: str
    """Where the body came from, after redirects."""
    media_type: str
    charset: str | None
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    """True when the server answered 304 to a conditional GET: `body` is empty, the last copy holds."""
    headers: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        """The body decoded: the header's charset, else the page's own <meta>, else UTF-8 with replacement."""
        return decode_body(self.body, self.charset, sniff_meta=self.media_type != "text/plain")


def blocked_reason(address: IPAddress) -> str | None:
    """Why an address must not be fetched from ("loopback", "private", ...), or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv6 address can carry an IPv4 one (::ffff:10.0.0.1, 6to4, Teredo): judge what it carries too.
        for embedded in (address.ipv4_mapped, address.sixtofour, address.teredo and address.teredo[1]):
            if embedded is not None:
                reason = blocked_reason(embedded)
                if reason is not None:
                    return reason
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("not publicly routable", not address.is_global),
    )
    return next((reason for reason, applies in checks if applies), None)


def check_address(address: IPAddress, policy: FetchPolicy, url: str) -> None:
    """BlockedAddress unless `address` is public or in a network the operator allowed."""
    reason = blocked_reason(address)
    if reason is None or any(address in network for network in policy.allowed_networks):
        return
    raise BlockedAddress(
        f"{url}: refused, it leads to {address}, a {reason} address (only public addresses are fetched)"
    )


def check_url(url: str) -> tuple[str, str, int]:
    """The (scheme, host, port) of an http(s) link; FetchError for any other scheme or a malformed link."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise FetchError(f"{url}: not a valid link ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"{url}: only http and https links can be fetched")
    if not parts.hostname:
        raise FetchError(f"{url}: the link has no host")
    if parts.username is not None or parts.password is not None:
        raise FetchError(f"{url}: links with a user name or password are not fetched")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


async def system_resolve(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver, off the event loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def fetch(
    url: str,
    policy: FetchPolicy,
    *,
    accept: Collection[str] = ARTICLE_TYPES,
    etag: str | None = None,
    last_modified: str | None = None,
    resolve: Resolve = system_resolve,
) -> Fetched:
    """GET `url` within the policy; `etag`/`last_modified` make it conditional (a 304 gives not_modified).

    Raises FetchError (BlockedAddress for a refused address) with a one-line reason.
    """
    try:
        async with asyncio.timeout(policy.timeout):
            return await _fetch(url, policy, accept, etag, last_modified, resolve)
    except TimeoutError:
        raise FetchError(f"{url}: no complete answer within {policy.timeout:g} seconds") from None


async def _fetch(
    url: str,
    policy: FetchPolicy,
    accept: Collection[str],
    etag: str | None,
    last_modified: str | None,
    resolve: Resolve,
) -> Fetched:
    resolver = _VettedResolver()
    connector = aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False, limit=4)
    headers = {"User-Agent": policy.user_agent, "Accept": ", ".join(sorted(accept)) + ", */*;q=0.1"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    # No proxy from the environment (trust_env) and no cookies: the checked address is the one connected to.
    async with aiohttp.ClientSession(
        connector=connector, trust_env=False, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        current = url
        for _hop in range(policy.max_redirects + 1):
            await _vet(current, policy, resolver, resolve)
            try:
                async with session.get(current, headers=headers, allow_redirects=False) as response:
                    if response.status in _REDIRECTS:
                        location = response.headers.get("Location")
                        if not location:
                            raise FetchError(f"{current}: redirect without a Location")
                        current = urljoin(current, location).split("#", 1)[0]
                        continue
                    return await _read(
                        current, response, policy, accept, conditional=bool(etag or last_modified)
                    )
            except aiohttp.ClientError as error:
                raise FetchError(f"{current}: {_describe(error)}") from None
        raise FetchError(f"{url}: more than {policy.max_redirects} redirects")


async def _vet(url: str, policy: FetchPolicy, resolver: _VettedResolver, resolve: Resolve) -> None:
    """Check a hop's link and every address of its host; pin the host to those addresses."""
    _scheme, host, port = check_url(url)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        # aiohttp connects to an IP literal without asking a resolver: checking it is enough.
        check_address(literal, policy, url)
        return
    try:
        found = await resolve(host, port)
    except OSError as error:
        raise FetchError(f"{url}: cannot resolve {host} ({error.strerror or error})") from None
    addresses: list[IPAddress] = []
    for text in found:
        try:
            addresses.append(ipaddress.ip_address(text.split("%", 1)[0]))
        except ValueError:
            raise FetchError(f"{url}: {host} resolved to something that is not an address") from None
    if not addresses:
        raise FetchError(f"{url}: cannot resolve {host}")
    # One bad address refuses the host: otherwise a name could pair a public address with a private one.
    for address in addresses:
        check_address(address, policy, url)
    resolver.pin(host, port, addresses)


async def _read(
    url: str,
    response: aiohttp.ClientResponse,
    policy: FetchPolicy,
    accept: Collection[str],
    *,
    conditional: bool,
) -> Fetched:
    etag = response.headers.get("ETag")
    last_modified = response.headers.get("Last-Modified")
    if response.status == 304 and conditional:
        return Fetched(url, "", None, b"", etag, last_modified, not_modified=True)
    if not 200 <= response.status < 300 or response.status == 204:
        raise FetchError(
            f"{url}: the server answered HTTP {response.status} {response.reason or ''}".rstrip()
        )
    media_type = response.content_type.lower() if "Content-Type" in response.headers else ""
    if media_type not in accept:
        shown = media_type or "no content type"
        raise FetchError(f"{url}: {shown} is not a supported content type ({', '.join(sorted(accept))})")
    if response.content_length is not None and response.content_length > policy.max_bytes:
        raise FetchError(
            f"{url}: {response.content_length:,} bytes, over the {policy.max_bytes:,}-byte limit"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > policy.max_bytes:
            raise FetchError(f"{url}: more than the {policy.max_bytes:,}-byte limit")
        chunks.append(chunk)
    headers = {name.lower(): value for name, value in response.headers.items()}
    return Fetched(url, media_type, response.charset, b"".join(chunks), etag, last_modified, headers=headers)


def decode_body(body: bytes, charset: str | None, *, sniff_meta: bool = True) -> str:
    """Text from bytes: a BOM, else the declared charset, else the HTML <meta> one, else UTF-8 (replacing).

    A charset that is unknown, or that the bytes do not decode with, gives way to the next candidate.
    """
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if body.startswith(bom):
            return body.decode(codec, errors="replace")
    candidates = [charset]
    if sniff_meta:
        match = _META_CHARSET.search(body[:_META_PROBE])
        candidates.append(match.group(1).decode("ascii") if match else None)
    known = [codec for codec in map(_codec, candidates) if codec is not None]
    for codec in [*known, "utf-8"]:
        try:
            return body.decode(codec)
        except UnicodeDecodeError:
            continue
    return body.decode(known[0] if known else "utf-8", errors="replace")


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    if name in _WINDOWS_1252_LABELS:
        return "cp1252"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _describe(error: aiohttp.ClientError) -> str:
    if isinstance(error, aiohttp.ClientConnectorError):
        return f"cannot connect ({error.os_error.strerror or error.os_error})"
    if isinstance(error, aiohttp.ClientPayloadError):
        return "the answer was cut short"
    return f"the request failed ({type(error).__name__}: {error})"


class _VettedResolver(AbstractResolver):
    """Answers only with addresses `_vet` checked: aiohttp connects to those and nothing else."""

    def __init__(self) -> None:
        self._pinned: dict[str, list[IPAddress]] = {}

    def pin(self, host: str, port: int, addresses: list[IPAddress]) -> None:
        """Answer `host` (as written, and as aiohttp spells an international name) with `addresses`."""
        self._pinned[host.lower()] = addresses
        with contextlib.suppress(UnicodeError):
            self._pinned[host.encode("idna").decode("ascii").lower()] = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = self._pinned.get(host.lower())
        if not addresses:
            raise OSError(f"{host} was not checked before connecting")
        return [
            ResolveResult(
                hostname=host,
                host=str(address),
                port=port,
                family=socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        self._pinned.clear()
