"""The envelope policy: `--accept`/`--reject` matched in full on the lower-cased
recipient, then greylisting, then recipient chaos; the session is asked to decide only
when one of them may refuse."""

from __future__ import annotations

import re

import pytest

from postier.chaos import Chaos, ChaosConfig, Trigger
from postier.protocol.smtp import ACCEPT, Reply
from postier.server.policy import Decision, EnvelopePolicy, RecipientPatterns

NOT_HERE = Reply(550, ("relaying denied",), "5.7.1")


def patterns(accept: tuple[str, ...] = (), reject: tuple[str, ...] = ()) -> RecipientPatterns:
    return RecipientPatterns(
        tuple(re.compile(p, re.IGNORECASE) for p in accept),
        tuple(re.compile(p, re.IGNORECASE) for p in reject),
    )


@pytest.mark.parametrize(
    ("accept", "reject", "recipient", "taken"),
    [
        ((), (), "anyone@anywhere.test", True),
        ((r".*@example\.com",), (), "bob@example.com", True),
        ((r".*@example\.com",), (), "Bob@Example.COM", True),  # lower case before the match
        ((r".*@example\.com",), (), "bob@example.com.evil.test", False),  # in full, no search
        ((r".*@example\.com",), (), "bob@sub.example.org", False),
        ((r"example\.com",), (), "bob@example.com", False),  # a part does not match the whole
        ((r".*@example\.com", r"postmaster@.*"), (), "postmaster@other.test", True),
        ((), (r"bounce.*@.*",), "bounce-1@example.com", False),
        ((), (r"bounce.*@.*",), "bob@example.com", True),
        ((r".*@example\.com",), (r"spam@.*",), "spam@example.com", False),  # reject wins
        ((r"[A-Z]+@x\.test",), (), "bob@x.test", True),  # the pattern's case does not matter
    ],
)
def test_patterns(
    accept: tuple[str, ...], reject: tuple[str, ...], recipient: str, taken: bool
) -> None:
    policy = EnvelopePolicy(patterns(accept, reject), Chaos())
    decision = policy.recipient("127.0.0.1", "a@b.test", recipient)
    if taken:
        assert decision.verdict is ACCEPT
    else:
        assert isinstance(decision.verdict, Reply)
        assert (decision.verdict.code, decision.verdict.enhanced) == (550, "5.1.1")
        assert decision.chaos is None  # a policy's refusal, not chaos


def test_the_session_decides_only_when_something_may_refuse() -> None:
    chaos = Chaos()
    policy = EnvelopePolicy(patterns(), chaos)
    assert not policy.decides_senders and not policy.decides_recipients
    assert EnvelopePolicy(patterns(reject=("x",)), chaos).decides_recipients
    chaos.configure(ChaosConfig(sender=Trigger(451, 1)))
    assert policy.decides_senders and not policy.decides_recipients
    chaos.configure(ChaosConfig(greylist=1))
    assert policy.decides_recipients and not policy.decides_senders
    chaos.configure(ChaosConfig(recipient=Trigger(451, 1), data=Trigger(451, 100)))
    assert policy.decides_recipients
    chaos.configure(ChaosConfig(data=Trigger(554, 100), disconnect=100, delay=1))
    assert not policy.decides_senders and not policy.decides_recipients


def test_a_refused_recipient_is_never_greylisted_nor_rolled_for() -> None:
    chaos = Chaos(ChaosConfig(greylist=30, recipient=Trigger(451, 100)))
    policy = EnvelopePolicy(patterns(accept=(r".*@here\.test",)), chaos)
    decision = policy.recipient("::1", "a@b.test", "c@elsewhere.test")
    assert isinstance(decision.verdict, Reply) and decision.verdict.code == 550
    assert len(chaos.greylist) == 0
    decision = policy.recipient("::1", "a@b.test", "c@here.test")
    assert isinstance(decision.verdict, Reply)
    assert (decision.verdict.code, decision.verdict.enhanced, decision.chaos) == (
        451,
        "4.7.1",
        "greylist=30",
    )


def test_chaos_names_its_trigger() -> None:
    chaos = Chaos(
        ChaosConfig(
            sender=Trigger(421, 100),
            recipient=Trigger(552, 100),
            authentication=Trigger(454, 100),
            data=Trigger(554, 100),
        )
    )
    policy = EnvelopePolicy(patterns(), chaos)
    sender = policy.sender("a@b.test")
    assert sender.chaos == "sender=421:100"
    assert str(sender.verdict) == "421 4.0.0 Error: chaos sender error (--chaos)"
    recipient = policy.recipient("::1", "a@b.test", "c@d.test")
    assert (recipient.chaos, str(recipient.verdict)[:9]) == ("recipient=552:100", "552 5.0.0")
    login, data = policy.authentication(), policy.end_of_data()
    assert login is not None and login.chaos == "authentication=454:100"
    assert data is not None and str(data.verdict)[:9] == "554 5.0.0"


def test_a_later_check_plugs_in_after_the_patterns_and_before_chaos() -> None:
    seen: list[str] = []

    def relay_check(client: str, sender: str, recipient: str) -> Decision | None:
        seen.append(recipient)
        return Decision(NOT_HERE) if recipient.endswith("@far.test") else None

    chaos = Chaos(ChaosConfig(recipient=Trigger(452, 100)))
    policy = EnvelopePolicy(patterns(reject=("spam@.*",)), chaos, more=(relay_check,))
    refused = policy.recipient("::1", "a@b.test", "spam@far.test").verdict
    assert isinstance(refused, Reply) and refused.code == 550
    assert seen == []  # refused by the patterns first
    assert policy.recipient("::1", "a@b.test", "x@far.test").verdict is NOT_HERE
    chaos.configure(ChaosConfig())
    assert EnvelopePolicy(patterns(), chaos, more=(relay_check,)).decides_recipients
    assert policy.recipient("::1", "a@b.test", "x@near.test").verdict is ACCEPT
    assert seen == ["x@far.test", "x@near.test"]
