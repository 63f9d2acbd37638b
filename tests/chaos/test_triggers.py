"""`--chaos`'s text and Mailpit's JSON: what is taken, what is refused, and both ways."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postier.chaos import ChaosConfig, ChaosError, Trigger, from_mailpit, parse_chaos, to_mailpit


def test_the_default_fails_nothing() -> None:
    config = ChaosConfig()
    assert not config.active and config.describe() == "off"
    # Codes without a chance of failing are no chaos either.
    assert not parse_chaos("sender=421:0,data=554:0").active
    assert parse_chaos("delay=0.1").active and parse_chaos("disconnect=1").active
    assert parse_chaos("off") == parse_chaos("") == config
    # Mailpit's default codes (internal/smtpd/chaos): 451, 451, 535.
    assert (config.sender.code, config.recipient.code, config.authentication.code) == (
        451,
        451,
        535,
    )


def test_the_issue_s_example_and_postier_s_own() -> None:
    config = parse_chaos(
        "sender=451:30,recipient=550:10,authentication=535:50,"
        "data=554:5,disconnect=7,delay=0.5,greylist=30"
    )
    assert config == ChaosConfig(
        sender=Trigger(451, 30),
        recipient=Trigger(550, 10),
        authentication=Trigger(535, 50),
        data=Trigger(554, 5),
        disconnect=7,
        delay=0.5,
        greylist=30.0,
    )
    assert config.describe() == (
        "sender=451:30,recipient=550:10,authentication=535:50,data=554:5,"
        "disconnect=7,delay=0.5,greylist=30"
    )
    assert parse_chaos(config.describe()) == config


def test_mailpit_s_own_spelling_is_taken_too() -> None:
    # Mailpit's --chaos-triggers: key:code:probability, and its aliases.
    assert parse_chaos("Sender:451:30, recipients:550:10, auth:535:50") == parse_chaos(
        "sender=451:30,recipient=550:10,authentication=535:50"
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("sender=399:10", "between 400 and 599"),
        ("sender=600:10", "between 400 and 599"),
        ("recipient=550:101", "between 0 and 100"),
        ("recipient=550", "CODE:PERCENT"),
        ("recipient=550:x", "not a number"),
        ("helo=550:1", "no such chaos trigger"),
        ("disconnect=200", "between 0 and 100"),
        ("delay=-1", "seconds must be"),
        ("delay=nan", "seconds must be"),
        ("greylist=99999", "seconds must be"),
        ("sender=451:1,sender=451:2", "given twice"),
    ],
)
def test_a_bad_setting_says_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ChaosError, match=says):
        parse_chaos(text)


def test_get_gives_mailpit_s_shape_first() -> None:
    body = to_mailpit(parse_chaos("sender=451:30,recipient=550:10"))
    assert list(body)[:3] == ["Sender", "Recipient", "Authentication"]
    assert body["Sender"] == {"ErrorCode": 451, "Probability": 30}
    assert body["Recipient"] == {"ErrorCode": 550, "Probability": 10}
    assert body["Authentication"] == {"ErrorCode": 535, "Probability": 0}
    assert body["Data"] == {"ErrorCode": 451, "Probability": 0}
    assert (body["Disconnect"], body["Delay"], body["Greylist"]) == ({"Probability": 0}, 0, 0)


def test_put_as_mailpit_takes_it() -> None:
    # Left out: reset; ErrorCode 0: the default; keys in any case, as Go decodes them.
    config = from_mailpit(
        {"sender": {"errorcode": 0, "probability": 30}, "Recipient": {"Probability": 5}}
    )
    assert config == ChaosConfig(sender=Trigger(451, 30), recipient=Trigger(451, 5))
    assert from_mailpit({}) == ChaosConfig()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ([], "JSON object"),
        ({"Sender": 30}, "object with ErrorCode"),
        ({"Sender": {"ErrorCode": 200, "Probability": 1}}, "between 400 and 599"),
        ({"Sender": {"ErrorCode": 451, "Probability": 101}}, "between 0 and 100"),
        ({"Sender": {"ErrorCode": 451, "Probability": 2.5}}, "whole number"),
        ({"Sender": {"ErrorCode": "451", "Probability": 1}}, "must be a number"),
        ({"Sender": {"ErrorCode": 451, "Probability": True}}, "must be a number"),
        ({"Sender": {"ErrorCode": 451, "Chance": 1}}, "unknown key 'chance'"),
        ({"Senders": {}}, "unknown key 'Senders'"),
        ({"Delay": float("inf")}, "finite"),
        ({"Greylist": -3}, "seconds must be"),
        ({"Sender": {}, "SENDER": {}}, "given twice"),
    ],
)
def test_a_bad_body_says_what_is_wrong(body: object, says: str) -> None:
    with pytest.raises(ChaosError, match=says):
        from_mailpit(body)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    codes=st.lists(st.integers(400, 599), min_size=4, max_size=4),
    chances=st.lists(st.integers(0, 100), min_size=5, max_size=5),
    delay=st.floats(0, 3600),
    greylist=st.floats(0, 3600),
)
def test_what_get_gives_put_takes_back(
    codes: list[int], chances: list[int], delay: float, greylist: float
) -> None:
    config = ChaosConfig(
        *(Trigger(code, chance) for code, chance in zip(codes, chances, strict=False)),
        disconnect=chances[4],
        delay=delay,
        greylist=greylist,
    )
    assert from_mailpit(json.loads(json.dumps(to_mailpit(config)))) == config
