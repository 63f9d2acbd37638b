"""The relay to an upstream that wants TLS (STARTTLS or from the first byte, its
certificate from a trustme authority given with `--relay-ca`) and AUTH; a wrong
password is a 535, which postier puts off (as Postfix's `smtp_sasl_auth_soft_bounce`)
rather than drops: nothing is delivered, the entry waits with the upstream's answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.client.servers import PASSWORD, USER
from tests.relay.upstream import (
    Upstream,
    queue_json,
    relaying,
    send,
    tokened,
    tokens_of,
    wait_until,
)
from tests.support.tls import make_tls_files


@pytest.mark.parametrize(
    ("implicit", "option", "credentials"),
    [(False, "--relay-starttls", "option"), (True, "--relay-tls", "file")],
    ids=["starttls-auth", "implicit-tls-auth-file"],
)
def test_relayed_over_tls_and_logged_in(
    tmp_path: Path, implicit: bool, option: str, credentials: str
) -> None:
    tls = make_tls_files(tmp_path)
    secret = f"{USER}:{PASSWORD}"
    if credentials == "file":
        (tmp_path / "auth").write_text(f"# the upstream\n{secret}\n", encoding="utf-8")
        login = ["--relay-auth-file", str(tmp_path / "auth")]
    else:
        login = ["--relay-auth", secret]
    with (
        Upstream(tls=tls, implicit=implicit, auth=True) as upstream,
        relaying(
            tmp_path / "mail", upstream.port, option, "--relay-ca", str(tls.ca_pem), *login
        ) as server,
    ):
        send(server, ["a@out.test"], tokened("token-tls-1"))
        wait_until(lambda: upstream.messages, what="the message")
    assert tokens_of(upstream.messages) == [b"token-tls-1"]
    assert upstream.handler.sessions == [(True, True)]  # over TLS, logged in


def test_a_wrong_password_delivers_nothing_and_the_message_waits(tmp_path: Path) -> None:
    tls = make_tls_files(tmp_path)
    with (
        Upstream(tls=tls, auth=True) as upstream,
        relaying(
            tmp_path / "mail", upstream.port, "--relay-starttls", "--relay-ca", str(tls.ca_pem),
            "--relay-auth", f"{USER}:not-the-password",
        ) as server,
    ):  # fmt: skip
        send(server, ["a@out.test"], tokened("token-badauth-1"))
        server.wait_for_log(r"to <a@out.test> deferred \(try 2,", timeout=20)
        [entry] = queue_json(server.store)
        dropped = queue_json(server.store, "--dropped")
    assert entry["attempts"] >= 2 and "535" in entry["last_error"], entry
    assert dropped == []
    assert upstream.messages == [] and upstream.handler.data_seen == []


def test_an_upstream_certificate_from_another_authority_is_refused(tmp_path: Path) -> None:
    (tmp_path / "theirs").mkdir()
    ours, theirs = make_tls_files(tmp_path), make_tls_files(tmp_path / "theirs")
    with (
        Upstream(tls=theirs) as upstream,
        relaying(
            tmp_path / "mail", upstream.port, "--relay-starttls", "--relay-ca", str(ours.ca_pem)
        ) as server,
    ):
        send(server, ["a@out.test"], tokened("token-untrusted-1"))
        server.wait_for_log(r"to <a@out.test> deferred \(try 1,", timeout=20)
        [entry] = queue_json(server.store)
    assert "certificate" in entry["last_error"].lower(), entry
    assert upstream.messages == [] and upstream.handler.data_seen == []
