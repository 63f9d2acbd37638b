"""Who may send and who may receive: `--accept`/`--reject` on recipients, then chaos.

The session asks the core to let it decide about MAIL and RCPT only when something here
may refuse (`decides_senders`, `decides_recipients`): with no policy and no chaos the
core answers them itself, as cheaply as before. A recipient's checks run in order, and
the first refusal is the answer; a later check (a relay's, say) is one more `Check`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from postier.chaos import Chaos, Trigger
from postier.protocol.smtp import ACCEPT, Verdict, catalogue


@dataclass(frozen=True, slots=True)
class Decision:
    """A verdict for the core, and the chaos trigger that made it, if one did (the log
    and the teaching view say so)."""

    verdict: Verdict
    chaos: str | None = None


ACCEPTED = Decision(ACCEPT)

Check = Callable[[str, str, str], Decision | None]
"""A recipient check: (client IP, sender, recipient) → a refusal, or None to go on."""


@dataclass(frozen=True, slots=True)
class RecipientPatterns:
    """`--accept` and `--reject`: regular expressions each matched in full
    (`re.fullmatch`) against the recipient in lower case. With `accept`, only recipients
    matching one of them are taken; one matching a `reject` is refused, even when an
    `accept` matches too. Refused recipients hear 550 5.1.1."""

    accept: tuple[re.Pattern[str], ...] = ()
    reject: tuple[re.Pattern[str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.accept or self.reject)

    def takes(self, recipient: str) -> bool:
        address = recipient.lower()
        if self.accept and not any(p.fullmatch(address) for p in self.accept):
            return False
        return not any(p.fullmatch(address) for p in self.reject)

    def check(self, client: str, sender: str, recipient: str) -> Decision | None:
        if self.takes(recipient):
            return None
        return Decision(catalogue.recipient_not_accepted(recipient))


class EnvelopePolicy:
    """The decisions on MAIL and RCPT that the core leaves to the session."""

    def __init__(
        self, patterns: RecipientPatterns, chaos: Chaos, more: Sequence[Check] = ()
    ) -> None:
        """`more`: checks after the patterns and before greylisting and chaos (a relay's
        refusal of what it must not pass on, say); with any, every RCPT is decided here."""
        self.patterns = patterns
        self.chaos = chaos
        checks: list[Check] = [patterns.check] if patterns else []
        self._static = bool(checks or more)
        self.checks: Sequence[Check] = (*checks, *more, self._greylist, self._recipient_chaos)

    @property
    def decides_senders(self) -> bool:
        return self.chaos.config.sender.probability > 0

    @property
    def decides_recipients(self) -> bool:
        config = self.chaos.config
        return self._static or config.recipient.probability > 0 or config.greylist > 0

    def sender(self, sender: str) -> Decision:
        return self._chaos("sender", self.chaos.config.sender) or ACCEPTED

    def recipient(self, client: str, sender: str, recipient: str) -> Decision:
        for check in self.checks:
            decision = check(client, sender, recipient)
            if decision is not None:
                return decision
        return ACCEPTED

    def _greylist(self, client: str, sender: str, recipient: str) -> Decision | None:
        wait = self.chaos.greylisted(client, sender, recipient)
        if not wait:
            return None
        delay = self.chaos.config.greylist
        return Decision(catalogue.greylisted(round(wait, 1) or 0.1), f"greylist={delay:g}")

    def _recipient_chaos(self, client: str, sender: str, recipient: str) -> Decision | None:
        return self._chaos("recipient", self.chaos.config.recipient)

    def authentication(self) -> Decision | None:
        """A chaotic refusal of a login, checked before its password is."""
        return self._chaos("authentication", self.chaos.config.authentication)

    def end_of_data(self) -> Decision | None:
        """A chaotic refusal of a whole message, which is then not stored."""
        return self._chaos("data", self.chaos.config.data)

    def _chaos(self, name: str, trigger: Trigger) -> Decision | None:
        if not self.chaos.fires(trigger):
            return None
        return Decision(catalogue.chaos(trigger.code, name), _named(name, trigger))


def _named(name: str, trigger: Trigger) -> str:
    """A trigger as `--chaos` writes it: what the log and the teaching view name."""
    return f"{name}={trigger.code}:{trigger.probability}"
