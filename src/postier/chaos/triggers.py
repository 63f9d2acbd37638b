"""What chaos makes fail, and how often: `--chaos`'s text and Mailpit's JSON, both ways.

Mailpit's triggers (`sender`, `recipient`, `authentication`: a reply code from 400 to 599
and a probability in whole percent) keep Mailpit's names, defaults (451, 451, 535) and
rules; postier adds `data` (refuse at the end of the data), `disconnect` (hang up in the
middle of DATA), `delay` (every reply that late) and `greylist` (the first attempt of a
client, sender and recipient put off for that long).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final


class ChaosError(ValueError):
    """A chaos setting that cannot be taken: its text says which, and why."""


@dataclass(frozen=True, slots=True)
class Trigger:
    """A reply code and the chance, in whole percent, that a command gets it."""

    code: int
    probability: int = 0

    def __post_init__(self) -> None:
        # Mailpit's own bounds and words (internal/smtpd/chaos).
        if not 400 <= self.code <= 599:
            raise ChaosError("error code must be between 400 and 599")
        if not 0 <= self.probability <= 100:
            raise ChaosError("probability must be between 0 and 100")


MAX_DELAY: Final = 3600.0
"""Longest `delay` or `greylist`, in seconds: past an hour it is a typo, not a test."""

MAILPIT_TRIGGERS: Final = {
    "sender": "Sender",
    "recipient": "Recipient",
    "authentication": "Authentication",
}
"""The triggers Mailpit knows, by postier's name, with their JSON key."""
POSTIER_TRIGGERS: Final = {"data": "Data"}
"""postier's own code-and-probability triggers, with their JSON key."""


@dataclass(frozen=True, slots=True)
class ChaosConfig:
    """Every chaos setting; the default fails nothing."""

    sender: Trigger = Trigger(451)
    recipient: Trigger = Trigger(451)
    authentication: Trigger = Trigger(535)
    data: Trigger = Trigger(451)
    disconnect: int = 0
    """Percent of messages whose connection is dropped in the middle of DATA."""
    delay: float = 0.0
    """Seconds every reply waits before it is sent."""
    greylist: float = 0.0
    """Seconds a new (client IP, sender, recipient) must wait before it is accepted; 0: off."""

    def __post_init__(self) -> None:
        if not 0 <= self.disconnect <= 100:
            raise ChaosError("disconnect: probability must be between 0 and 100")
        for name in ("delay", "greylist"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 <= value <= MAX_DELAY):
                raise ChaosError(f"{name}: seconds must be between 0 and {MAX_DELAY:g}")

    @property
    def active(self) -> bool:
        """Anything may fail at all."""
        triggers = (self.sender, self.recipient, self.authentication, self.data)
        return any(t.probability for t in triggers) or bool(
            self.disconnect or self.delay or self.greylist
        )

    def describe(self) -> str:
        """The settings that are on, as `--chaos` writes them (for the log)."""
        parts = [
            f"{name}={trigger.code}:{trigger.probability}"
            for name in (*MAILPIT_TRIGGERS, *POSTIER_TRIGGERS)
            if (trigger := getattr(self, name)).probability
        ]
        if self.disconnect:
            parts.append(f"disconnect={self.disconnect}")
        parts += [f"{n}={getattr(self, n):g}" for n in ("delay", "greylist") if getattr(self, n)]
        return ",".join(parts) or "off"


_ALIASES: Final = {"recipients": "recipient", "auth": "authentication"}
"""Mailpit's other spellings of its keys."""


def parse_chaos(text: str) -> ChaosConfig:
    """`--chaos`: comma-separated `NAME=CODE:PCT` (Mailpit's `NAME:CODE:PCT` too) for
    sender, recipient, authentication and data; `disconnect=PCT`; `delay=SECONDS`;
    `greylist=SECONDS`. `""` or `off`: no chaos. Raises ChaosError."""
    values: dict[str, Any] = {}
    if text.strip().lower() in {"", "off", "none"}:
        return ChaosConfig()
    for given in text.split(","):
        item = given.strip()
        name, sep, value = item.partition("=")
        if not sep:  # Mailpit's form, sender:451:30
            name, _, value = item.partition(":")
        name = _ALIASES.get(name.strip().lower(), name.strip().lower())
        if name in values:
            raise ChaosError(f"{name} is given twice")
        values[name] = _value(name, value.strip(), item)
    return ChaosConfig(**values)


def _value(name: str, value: str, item: str) -> Trigger | int | float:
    try:
        if name in MAILPIT_TRIGGERS or name in POSTIER_TRIGGERS:
            code, sep, probability = value.partition(":")
            if not sep:
                raise ChaosError(f"{item!r}: write {name}=CODE:PERCENT, e.g. {name}=451:30")
            return Trigger(int(code), int(probability))
        if name == "disconnect":
            return int(value)
        if name in ("delay", "greylist"):
            return float(value)
    except ValueError as error:
        if isinstance(error, ChaosError):
            raise ChaosError(f"{item!r}: {error}") from None
        raise ChaosError(f"{item!r}: not a number") from None
    known = ", ".join([*MAILPIT_TRIGGERS, *POSTIER_TRIGGERS, "disconnect", "delay", "greylist"])
    raise ChaosError(f"{item!r}: no such chaos trigger (known: {known})")


# --- Mailpit's JSON (server/apiv1/chaos.go) ------------------------------------------


def to_mailpit(config: ChaosConfig) -> dict[str, Any]:
    """`GET /api/v1/chaos`: Mailpit's three triggers as Mailpit writes them, then postier's
    own under keys Mailpit does not use (a Mailpit client reads past them)."""
    out: dict[str, Any] = {}
    for name, key in (MAILPIT_TRIGGERS | POSTIER_TRIGGERS).items():
        trigger: Trigger = getattr(config, name)
        out[key] = {"ErrorCode": trigger.code, "Probability": trigger.probability}
    out["Disconnect"] = {"Probability": config.disconnect}
    out["Delay"] = config.delay
    out["Greylist"] = config.greylist
    return out


_JSON_KEYS: Final = {
    **{key: name for name, key in (MAILPIT_TRIGGERS | POSTIER_TRIGGERS).items()},
    "Disconnect": "disconnect",
    "Delay": "delay",
    "Greylist": "greylist",
}
_KEYS: Final = {key.lower(): name for key, name in _JSON_KEYS.items()}


def from_mailpit(body: object) -> ChaosConfig:
    """`PUT /api/v1/chaos`, as Mailpit takes it: a trigger left out is reset (fails
    nothing), an `ErrorCode` of 0 or none is the trigger's default; keys match whatever
    their case, as Go's JSON decoder does. Unlike Mailpit, a key it does not know is an
    error rather than ignored: a typo must not silently turn chaos off. Raises ChaosError."""
    if not isinstance(body, Mapping):
        raise ChaosError(
            'the body must be a JSON object, e.g. {"Sender": {"ErrorCode": 451, "Probability": 30}}'
        )
    defaults = ChaosConfig()
    values: dict[str, Any] = {}
    for key, value in body.items():
        name = _KEYS.get(str(key).lower())
        if name is None:
            known = ", ".join(key for key in _JSON_KEYS)
            raise ChaosError(f"unknown key {key!r} (known: {known})")
        if name in values:
            raise ChaosError(f"{key!r} is given twice")
        if name in ("delay", "greylist"):
            values[name] = _number(value, str(key), whole=False)
            continue
        fields = _object(value, str(key))
        if name == "disconnect":
            values[name] = _number(fields.get("probability", 0), f"{key}.Probability")
            continue
        code = _number(fields.get("errorcode", 0), f"{key}.ErrorCode")
        probability = _number(fields.get("probability", 0), f"{key}.Probability")
        values[name] = Trigger(int(code) or getattr(defaults, name).code, int(probability))
    return ChaosConfig(**values)


def _object(value: object, key: str) -> dict[str, object]:
    if not isinstance(value, Mapping):
        raise ChaosError(f"{key} must be an object with ErrorCode and Probability")
    fields = {str(k).lower(): v for k, v in value.items()}
    unknown = set(fields) - {"errorcode", "probability"}
    if unknown:
        first = sorted(unknown)[0]
        raise ChaosError(f"{key}: unknown key {first!r} (known: ErrorCode, Probability)")
    return fields


def _number(value: object, key: str, *, whole: bool = True) -> int | float:
    """A JSON number; a whole one where Mailpit's Go field is an int."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ChaosError(f"{key} must be a number")
    if not math.isfinite(value):
        raise ChaosError(f"{key} must be a finite number")
    if not whole:
        return float(value)
    if value != int(value):
        raise ChaosError(f"{key} must be a whole number")
    return int(value)
