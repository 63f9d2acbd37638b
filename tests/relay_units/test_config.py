"""`relay/config.py`: the upstream's address, the relay's options, which recipients are
passed on, and the retry schedule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from postier.client import Security
from postier.relay import (
    DEFAULT_MAX_AGE,
    DEFAULT_RETRY,
    RelayConfig,
    RelayConfigError,
    Upstream,
    parse_upstream,
    relay_config,
    upstream_of,
)
from postier.relay.config import MAX_RETRY
from tests.relay_units.helpers import config

# --- parse_upstream -------------------------------------------------------------------------

PARSED: list[tuple[str, tuple[str, int | None]]] = [
    ("mx.test", ("mx.test", None)),
    ("mx.test:2525", ("mx.test", 2525)),
    ("  mx.test:25  ", ("mx.test", 25)),
    ("127.0.0.1:1", ("127.0.0.1", 1)),
    ("mx.test:65535", ("mx.test", 65535)),
    ("mx.test:00587", ("mx.test", 587)),
    ("[::1]", ("::1", None)),
    ("[::1]:2525", ("::1", 2525)),
    ("[2001:db8::25]:587", ("2001:db8::25", 587)),
    ("::1", ("::1", None)),  # a bare v6 address: more than one colon, no port
]


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_parse_upstream_reads_host_and_port(text: str, expected: tuple[str, int | None]) -> None:
    assert parse_upstream(text) == expected


BAD_UPSTREAMS: list[tuple[str, str]] = [
    ("", "not HOST[:PORT]"),
    ("   ", "not HOST[:PORT]"),
    (":25", "not HOST[:PORT]"),
    ("mx .test:25", "not HOST[:PORT]"),
    ("[::1", "not HOST[:PORT]"),
    ("[::1]25", "not HOST[:PORT]"),
    ("[]:25", "not HOST[:PORT]"),
    ("mx.test:0", "not a port number"),
    ("mx.test:65536", "not a port number"),
    ("mx.test:-1", "not a port number"),
    ("mx.test:+25", "not a port number"),
    ("mx.test:smtp", "not a port number"),
    ("mx.test:2 5", "not a port number"),
    ("mx.test:", "not a port number"),
    ("[::1]:", "not a port number"),
    ("[::1]:x", "not a port number"),
    ("mx.test:\u00b2", "not a port number"),  # "²" is a digit to str.isdigit, not to int
    ("mx.test:\uff12\uff15", "not a port number"),  # fullwidth "25"
]


@pytest.mark.parametrize(("text", "said"), BAD_UPSTREAMS)
def test_parse_upstream_refuses_what_is_not_host_port(text: str, said: str) -> None:
    with pytest.raises(RelayConfigError) as caught:
        parse_upstream(text)
    assert said in str(caught.value)
    assert repr(text) in str(caught.value)  # the user sees what they wrote


# --- upstream_of, relay_config ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "starttls", "tls", "expected"),
    [
        ("mx.test", False, False, Upstream("mx.test", 25, Security.NONE)),
        ("mx.test", False, True, Upstream("mx.test", 465, Security.TLS)),
        ("mx.test", True, False, Upstream("mx.test", 25, Security.STARTTLS)),
        ("mx.test:587", True, False, Upstream("mx.test", 587, Security.STARTTLS)),
        ("[::1]:2525", False, True, Upstream("::1", 2525, Security.TLS)),
    ],
)
def test_upstream_of_picks_the_port_and_security(
    address: str, starttls: bool, tls: bool, expected: Upstream
) -> None:
    assert upstream_of(address, starttls=starttls, tls=tls) == expected


def test_upstream_of_takes_credentials_inline_or_from_a_file(tmp_path: Path) -> None:
    inline = upstream_of("mx.test", auth="bob:pa:ss")
    assert (inline.username, inline.password) == ("bob", "pa:ss")
    assert "pa:ss" not in repr(inline)  # the password stays out of logs
    secrets = tmp_path / "relay-auth"
    secrets.write_text("# the relay's login\n\n  carol:s3cret  \nother:line\n")
    from_file = upstream_of("mx.test", auth_file=secrets)
    assert (from_file.username, from_file.password) == ("carol", "s3cret")


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [
        ({"starttls": True, "tls": True}, "do not go together"),
        ({"auth": "a:b", "auth_file": Path("x")}, "do not go together"),
        ({"auth": "nopassword"}, "USER:PASSWORD"),
        ({"auth": ":password"}, "USER:PASSWORD"),
        ({"auth": "user:"}, "USER:PASSWORD"),
        ({"auth_file": Path("/nonexistent/relay-auth")}, "cannot read"),
    ],
)
def test_upstream_of_refuses_options_that_cannot_be_used(
    kwargs: dict[str, object], said: str
) -> None:
    with pytest.raises(RelayConfigError, match=re.escape(said)):
        upstream_of("mx.test", **kwargs)  # type: ignore[arg-type]


def test_a_credentials_file_without_a_line_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "relay-auth"
    empty.write_text("# nothing here\n\n")
    with pytest.raises(RelayConfigError, match="no USER:PASSWORD line"):
        upstream_of("mx.test", auth_file=empty)


@pytest.mark.parametrize(
    ("option", "kwargs"),
    [
        ("--relay-starttls", {"starttls": True}),
        ("--relay-tls", {"tls": True}),
        ("--relay-auth", {"auth": "a:b"}),
        ("--relay-auth-file", {"auth_file": Path("f")}),
        ("--relay-ca", {"cafile": Path("ca.pem")}),
        ("--relay-match", {"match": (re.compile(".*"),)}),
        ("--relay-exclude", {"exclude": (re.compile(".*"),)}),
        ("--relay-from", {"sender": "a@b.test"}),
        ("--release-allow", {"release_allow": (re.compile(".*"),)}),
    ],
)
def test_relay_options_without_relay_are_refused(option: str, kwargs: dict[str, object]) -> None:
    with pytest.raises(RelayConfigError) as caught:
        relay_config(None, **kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == f"{option} needs --relay HOST[:PORT]"


def test_no_relay_gives_a_configuration_that_relays_nothing() -> None:
    nothing = relay_config(None)
    assert nothing == RelayConfig()
    assert nothing.upstream is None
    assert not nothing.relays


def test_relay_config_carries_every_option() -> None:
    match = (re.compile(r".*@out\.test"),)
    exclude = (re.compile(r"no@out\.test"),)
    allow = (re.compile(r".*@qa\.test"),)
    made = relay_config(
        "mx.test:587",
        starttls=True,
        match=match,
        exclude=exclude,
        sender="bounce@in.test",
        max_age=10.0,
        retry=2.0,
        release_allow=allow,
    )
    assert made == RelayConfig(
        Upstream("mx.test", 587, Security.STARTTLS), match, exclude, "bounce@in.test", 10.0, 2.0,
        allow,
    )  # fmt: skip
    assert made.relays


@pytest.mark.parametrize("sender", ["not an address", "a@", "<a@b.test>", "a b@c.test"])
def test_relay_from_must_be_an_address(sender: str) -> None:
    with pytest.raises(RelayConfigError, match="--relay-from: not an address"):
        relay_config("mx.test", sender=sender)


def test_an_empty_relay_from_means_the_messages_own_sender() -> None:
    assert relay_config("mx.test", sender="").sender is None


# --- which recipients are relayed ---------------------------------------------------------------

SELECTED: list[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = [
    # match, exclude, recipients, relayed
    ((r".*@out\.test",), (), ("a@out.test", "b@in.test"), ("a@out.test",)),
    ((r".*@out\.test",), (), ("A@OUT.TEST",), ("A@OUT.TEST",)),  # lower-cased, kept as given
    ((r".*@out\.test",), (), ("a@out.test.evil",), ()),  # in full: no prefix match
    ((r"out\.test",), (), ("a@out.test",), ()),  # in full: no search
    ((r".*@out\.test",), (r"no@out\.test",), ("no@out.test", "yes@out.test"), ("yes@out.test",)),
    ((r".*@out\.test",), (r"NO@out\.test",), ("no@out.test",), ("no@out.test",)),  # exclude too
    ((r".*@out\.test",), (r"no",), ("no@out.test",), ("no@out.test",)),  # exclude in full too
    ((r"a@.*", r"b@.*"), (), ("b@x.test", "c@x.test", "a@x.test"), ("b@x.test", "a@x.test")),
    ((r".*",), (), ("a@x.test", "a@x.test", "b@x.test"), ("a@x.test", "b@x.test")),  # once each
    ((r".*",), (r".*",), ("a@x.test",), ()),
    ((), (), ("a@x.test",), ()),  # no --relay-match: nothing, never an open relay
]


@pytest.mark.parametrize(("match", "exclude", "recipients", "relayed"), SELECTED)
def test_selected_matches_in_full_on_the_lower_cased_recipient(
    match: tuple[str, ...],
    exclude: tuple[str, ...],
    recipients: tuple[str, ...],
    relayed: tuple[str, ...],
) -> None:
    assert config(match=match, exclude=exclude).selected(recipients) == relayed


def test_no_upstream_relays_nothing_even_with_match() -> None:
    without = RelayConfig(None, (re.compile(".*"),))
    assert not without.relays
    assert without.selected(("a@x.test",)) == ()


# --- the retry schedule --------------------------------------------------------------------------


def test_the_defaults_are_five_days_and_a_minute() -> None:
    assert DEFAULT_MAX_AGE == 5 * 24 * 3600
    assert DEFAULT_RETRY == 60
    assert MAX_RETRY == 3600
    assert RelayConfig().max_age == DEFAULT_MAX_AGE
    assert RelayConfig().retry == DEFAULT_RETRY


SCHEDULE: list[tuple[float, int, float]] = [
    # retry, attempts, delay
    (60, 0, 60),
    (60, 1, 60),
    (60, 2, 120),
    (60, 3, 240),
    (60, 4, 480),
    (60, 5, 960),
    (60, 6, 1920),
    (60, 7, 3600),  # 3840 capped at an hour
    (60, 8, 3600),
    (60, 100, 3600),
    (60, 10_000, 3600),  # no overflow however many tries
    (1, 1, 1),
    (1, 2, 2),
    (1, 12, 2048),
    (1, 13, 3600),
    (7200, 1, 7200),  # a first delay above the cap: the cap is that delay
    (7200, 5, 7200),
]


@pytest.mark.parametrize(("retry", "attempts", "delay"), SCHEDULE)
def test_the_retry_delay_doubles_up_to_an_hour(retry: float, attempts: int, delay: float) -> None:
    assert RelayConfig(retry=retry).retry_delay(attempts) == delay


def test_release_refused_lists_what_release_allow_does_not_match() -> None:
    allowing = RelayConfig(release_allow=(re.compile(r".*@qa\.test"),))
    assert allowing.release_refused(["a@qa.test", "B@QA.TEST", "c@qa.test.x", "d@x"]) == [
        "c@qa.test.x",
        "d@x",
    ]
    assert RelayConfig().release_refused(["anyone@anywhere.test"]) == []


def test_upstream_text_names_the_host_port_security_and_user() -> None:
    assert str(Upstream("mx.test")) == "mx.test:25"
    assert str(Upstream("::1", 2525, Security.TLS)) == "[::1]:2525 over TLS"
    assert str(Upstream("mx.test", 587, Security.STARTTLS, "bob", "pw")) == (
        "mx.test:587 with STARTTLS as bob"
    )
