"""The link check: the `http(s)` links of a message, and, when the server allows it, what
a HEAD request to each answers, in Mailpit's `LinkCheckResponse` shape.

A message must not make the server probe the network it stands in: unless
`allow_private`, a link whose host is (or resolves to) a private, loopback, link-local or
otherwise reserved address is refused before any connection, and so is each redirect's
next hop (redirects are followed here, one at a time, never by the HTTP client). The
addresses checked are the ones connected to (the client resolves through the check), so
a name cannot resolve one way for the check and another for the connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from .config import LinkPolicy
from .html import scan_html

_TEXT_URL: Final = re.compile(r"https?://[^\s<>\"'`)\]]+", re.I)
MAX_HOPS: Final = 5


class PrivateAddressError(OSError):
    """A link's host is an address the policy does not let the check reach."""


def links_of(html: str | None, text: str | None) -> list[str]:
    """The message's `http(s)` links, each once, in order: the HTML's `href`s and image
    sources, then the URLs written in its text."""
    found: list[str] = []
    if html:
        scan = scan_html(html)
        found.extend(scan.hrefs)
        found.extend(scan.images)
    if text:
        found.extend(match.rstrip(".,;:!?") for match in _TEXT_URL.findall(text))
    seen: dict[str, None] = {}
    for link in found:
        if urlsplit(link).scheme.lower() in ("http", "https") and urlsplit(link).hostname:
            seen.setdefault(link, None)
    return list(seen)


def reachable(address: str, policy: LinkPolicy) -> bool:
    """Whether the check may connect to `address` (an IP address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if policy.allow_private:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in policy.allow):
        return True
    return ip.is_global and not ip.is_multicast


class _GuardedResolver(AbstractResolver):
    """The system's resolver, refusing a name with any address the policy forbids."""

    def __init__(self, policy: LinkPolicy) -> None:
        self._inner = ThreadedResolver()
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            if not reachable(result["host"], self._policy):
                raise PrivateAddressError(f"{host} resolves to {result['host']}, a private address")
        return results

    async def close(self) -> None:
        await self._inner.close()


def _literal_refused(url: str, policy: LinkPolicy) -> str | None:
    host = urlsplit(url).hostname or ""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    return None if reachable(host, policy) else f"{host} is a private address"


async def check_links(
    links: list[str], policy: LinkPolicy, *, follow: bool = True
) -> dict[str, Any]:
    """Mailpit's `{"Errors": n, "Links": [{"URL", "StatusCode", "Status"}]}`; without
    `follow`, a redirect's 3xx is the link's answer."""
    if not policy.enabled:
        untested = [_entry(link, 0, "not tested: postier serve --link-check") for link in links]
        return {"Errors": 0, "Links": untested}
    tested, rest = links[: policy.max_links], links[policy.max_links :]
    gate = asyncio.Semaphore(policy.concurrency)
    connector = aiohttp.TCPConnector(
        resolver=_GuardedResolver(policy), limit=policy.concurrency,
        use_dns_cache=False, force_close=True,
    )  # fmt: skip
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:

        async def one(link: str) -> dict[str, Any]:
            async with gate:
                return await _test(session, link, policy, follow)

        entries = list(await asyncio.gather(*(one(link) for link in tested)))
    entries.extend(_entry(link, 0, f"not tested: over {policy.max_links} links") for link in rest)
    errors = sum(1 for entry in entries[: len(tested)] if _failed(entry))
    return {"Errors": errors, "Links": entries}


def _failed(entry: dict[str, Any]) -> bool:
    code = entry["StatusCode"]
    return bool(code == 0 or code >= 400)


async def _test(
    session: aiohttp.ClientSession, link: str, policy: LinkPolicy, follow: bool
) -> dict[str, Any]:
    try:
        async with asyncio.timeout(policy.timeout):
            return await _follow(session, link, policy, MAX_HOPS if follow else 0)
    except TimeoutError:
        return _entry(link, 0, f"timed out after {policy.timeout:g} s")


async def _follow(
    session: aiohttp.ClientSession, link: str, policy: LinkPolicy, hops: int
) -> dict[str, Any]:
    """HEAD `link`, then up to `hops` redirects, each hop's address checked (`hops` 0:
    a redirect is the answer)."""
    url = link
    for _hop in range(hops + 1):
        refused = _literal_refused(url, policy)
        if refused is not None:
            return _entry(link, 0, f"refused: {refused} (--link-check-private)")
        try:
            async with session.head(url, allow_redirects=False) as response:
                status = response.status
                location = response.headers.get("Location")
        except PrivateAddressError as error:
            return _entry(link, 0, f"refused: {error} (--link-check-private)")
        except (aiohttp.ClientError, OSError, ValueError) as error:
            refusal = _refusal(error)
            if refusal is not None:
                return _entry(link, 0, f"refused: {refusal} (--link-check-private)")
            return _entry(link, 0, f"failed: {_reason(error)}")
        if status in (301, 302, 303, 307, 308) and location and hops > 0:
            url = urljoin(url, location)
            if urlsplit(url).scheme.lower() not in ("http", "https"):
                return _entry(link, 0, f"refused: a redirect to {urlsplit(url).scheme}:")
            continue
        return _entry(link, status, _phrase(status))
    return _entry(link, 0, f"failed: more than {hops} redirects")


def _entry(link: str, code: int, status: str) -> dict[str, Any]:
    return {"URL": link, "StatusCode": code, "Status": status}


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return str(code)


def _refusal(error: BaseException) -> PrivateAddressError | None:
    """The resolver's refusal, however the client wrapped it."""
    cause: BaseException | None = error
    for _depth in range(8):
        if cause is None:
            return None
        if isinstance(cause, PrivateAddressError):
            return cause
        inner = getattr(cause, "os_error", None)
        cause = inner if isinstance(inner, BaseException) else cause.__cause__
    return None


def _reason(error: BaseException) -> str:
    return type(error).__name__ if not str(error) else str(error).splitlines()[0][:200]
