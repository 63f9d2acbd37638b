"""`GET /api/v1/message/{ID}/link-check`: the message's links in Mailpit's
`LinkCheckResponse` shape; listed only without --link-check; tested with HEAD against a
local HTTP server (200, 500, a hang cut by the timeout, a redirect into a refused
address); a loopback link refused without --link-check-private, with no connection made."""

from __future__ import annotations

import ipaddress
from email.message import EmailMessage
from pathlib import Path

import pytest

from postier.checks import ChecksConfig, LinkPolicy
from postier.checks.links import links_of, reachable
from tests.checks.peers import http_server
from tests.store_read.helpers import deliver, plain
from tests.web.conftest import Api, ApiFor

LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"),)


def linked(*links: str, text: str = "") -> EmailMessage:
    message = plain("Links")
    message.set_content(text or "See the links.")
    anchors = "".join(f"<a href='{link}'>x</a>" for link in links)
    message.add_alternative(f"<html><body>{anchors}</body></html>", subtype="html")
    return message


def opened(store: Path, api_for: ApiFor, message: EmailMessage, policy: LinkPolicy) -> Api:
    deliver(store, "mbox", [message])
    return api_for(store, checks=ChecksConfig(links=policy))


def check(api: Api, follow: str | None = "true") -> dict[str, object]:
    query = "" if follow is None else f"?follow={follow}"
    reply = api.get(f"/api/v1/message/latest/link-check{query}")
    assert reply.status == 200, reply.text
    body: dict[str, object] = reply.json()
    return body


def by_url(body: dict[str, object]) -> dict[str, tuple[int, str]]:
    links = body["Links"]
    assert isinstance(links, list)
    for link in links:
        assert set(link) == {"URL", "StatusCode", "Status"}
    return {link["URL"]: (link["StatusCode"], link["Status"]) for link in links}


def test_the_links_of_html_and_text_each_once() -> None:
    html = (
        "<a href='https://a.example/x'>a</a><a href='#top'>t</a><a href='mailto:m@x'>m</a>"
        "<img src='http://img.example/p.png'><a href='https://a.example/x'>again</a>"
    )
    text = "Read https://t.example/page. Or (http://u.example/y)\nftp://no.example/"
    assert links_of(html, text) == [
        "https://a.example/x", "http://img.example/p.png", "https://t.example/page",
        "http://u.example/y",
    ]  # fmt: skip


ADDRESSES = [
    ("93.184.216.34", True),
    ("2606:4700::1111", True),
    ("127.0.0.1", False),
    ("10.1.2.3", False),
    ("172.16.0.1", False),
    ("192.168.1.1", False),
    ("169.254.169.254", False),  # the cloud metadata address
    ("100.64.0.1", False),
    ("0.0.0.0", False),
    ("224.0.0.1", False),
    ("::1", False),
    ("fe80::1", False),
    ("fc00::1", False),
    ("::ffff:127.0.0.1", False),
    ("::ffff:10.0.0.1", False),
]


@pytest.mark.parametrize(("address", "allowed"), ADDRESSES)
def test_which_addresses_a_link_may_reach(address: str, allowed: bool) -> None:
    assert reachable(address, LinkPolicy(enabled=True)) is allowed
    assert reachable(address, LinkPolicy(enabled=True, allow_private=True)) is True


def test_without_link_check_the_links_are_listed_untested(store: Path, api_for: ApiFor) -> None:
    with http_server() as server:
        api = opened(store, api_for, linked(f"{server.base}/ok"), LinkPolicy())
        body = check(api)
        assert body["Errors"] == 0
        assert by_url(body) == {f"{server.base}/ok": (0, "not tested: postier serve --link-check")}
        assert server.connections == 0


def test_links_tested_with_head(store: Path, api_for: ApiFor) -> None:
    with http_server() as server:
        base = server.base
        server.redirects["/moved"] = "/ok/there"
        links = [f"{base}/ok", f"{base}/500", f"{base}/missing", f"{base}/moved"]
        policy = LinkPolicy(enabled=True, allow_private=True, timeout=5)
        body = check(opened(store, api_for, linked(*links), policy))
        assert by_url(body) == {
            f"{base}/ok": (200, "OK"),
            f"{base}/500": (500, "Internal Server Error"),
            f"{base}/missing": (404, "Not Found"),
            f"{base}/moved": (200, "OK"),
        }
        assert body["Errors"] == 2
        assert {method for method, _ in server.requests} == {"HEAD"}
        assert ("HEAD", "/ok/there") in server.requests


@pytest.mark.parametrize("follow", [None, "false", "0"])
def test_without_follow_a_redirect_is_the_answer(
    store: Path, api_for: ApiFor, follow: str | None
) -> None:
    with http_server() as server:
        base = server.base
        server.redirects["/moved"] = "/ok/there"
        policy = LinkPolicy(enabled=True, allow_private=True, timeout=5)
        body = check(opened(store, api_for, linked(f"{base}/moved"), policy), follow)
        [(code, _)] = by_url(body).values()
        assert code == 302  # what the server answered, not where it points
        assert body["Errors"] == 0
        assert ("HEAD", "/ok/there") not in server.requests


def test_a_follow_that_is_not_a_flag_is_a_400(store: Path, api_for: ApiFor) -> None:
    policy = LinkPolicy(enabled=True, allow_private=True, timeout=5)
    api = opened(store, api_for, linked("http://a.example/"), policy)
    reply = api.get("/api/v1/message/latest/link-check?follow=maybe")
    assert reply.status == 400 and "follow" in reply.json()["Error"]


def test_a_link_that_hangs_is_cut_by_the_timeout(store: Path, api_for: ApiFor) -> None:
    with http_server() as server:
        links = [f"{server.base}/hang", f"{server.base}/ok"]
        policy = LinkPolicy(enabled=True, allow_private=True, timeout=1)
        body = check(opened(store, api_for, linked(*links), policy))
        assert by_url(body) == {
            f"{server.base}/hang": (0, "timed out after 1 s"),
            f"{server.base}/ok": (200, "OK"),
        }
        assert body["Errors"] == 1


def test_a_redirect_into_a_refused_address_is_not_followed(store: Path, api_for: ApiFor) -> None:
    with http_server("127.0.0.2") as inside, http_server() as server:
        server.redirects["/in"] = f"{inside.base}/ok"
        server.redirects["/meta"] = "http://169.254.169.254/latest/meta-data/"
        links = [f"{server.base}/in", f"{server.base}/meta"]
        # 127.0.0.1 alone is let through: the first hop is reached, the next refused.
        policy = LinkPolicy(enabled=True, allow=LOOPBACK)
        body = check(opened(store, api_for, linked(*links), policy))
        found = by_url(body)
        assert found[f"{server.base}/in"][0] == 0
        assert "refused: 127.0.0.2 is a private address" in found[f"{server.base}/in"][1]
        assert found[f"{server.base}/meta"][0] == 0
        assert "refused: 169.254.169.254" in found[f"{server.base}/meta"][1]
        assert body["Errors"] == 2
        assert server.connections == 2
        assert inside.connections == 0


LOOPBACK_FORMS = [
    ("127.0.0.1", "refused: "),
    ("localhost", "refused: "),
    ("[::ffff:127.0.0.1]", "refused: "),
    # Spellings that inet_aton would take for 127.0.0.1: the URL parser refuses them first.
    ("2130706433", "failed: "),
    ("127.1", "failed: "),
]


@pytest.mark.parametrize(("host", "outcome"), LOOPBACK_FORMS)
def test_a_loopback_link_is_refused_without_a_connection(
    store: Path, api_for: ApiFor, host: str, outcome: str
) -> None:
    with http_server() as server:
        port = server.server_address[1]
        link = f"http://{host}:{port}/ok"
        body = check(opened(store, api_for, linked(link), LinkPolicy(enabled=True)))
        ((code, status),) = by_url(body).values()
        assert code == 0
        assert status.startswith(outcome), status
        if outcome == "refused: ":
            assert "--link-check-private" in status
        assert body["Errors"] == 1
        assert server.connections == 0


def test_the_count_of_links_tested_is_bounded(store: Path, api_for: ApiFor) -> None:
    with http_server() as server:
        links = [f"{server.base}/ok/{n}" for n in range(5)]
        policy = LinkPolicy(enabled=True, allow_private=True, max_links=3)
        body = check(opened(store, api_for, linked(*links), policy))
        statuses = [status for _, status in by_url(body).values()]
        assert statuses == ["OK"] * 3 + ["not tested: over 3 links"] * 2
        assert server.connections == 3
