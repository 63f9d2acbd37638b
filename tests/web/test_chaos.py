"""`GET/PUT /api/v1/chaos`: Mailpit's shape, its reset of what a PUT leaves out, a 400
with a JSON error for a bad body, and the chaos object shared with SMTP changed in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from postier.chaos import Chaos, ChaosConfig, FixedChaos, Trigger
from tests.web.conftest import ApiFor


def test_without_smtp_there_is_no_chaos(api_for: ApiFor, tmp_path: Path) -> None:
    api = api_for(tmp_path)
    for reply in (api.get("/api/v1/chaos"), api.put("/api/v1/chaos", json={})):
        assert reply.status == 400
        assert "Chaos is not enabled" in reply.json()["Error"]


def test_get_then_put_changes_the_shared_object(api_for: ApiFor, tmp_path: Path) -> None:
    api = api_for(tmp_path)
    chaos = Chaos(ChaosConfig(sender=Trigger(451, 30)))
    api.state.chaos = chaos
    body = api.get("/api/v1/chaos").json()
    assert body["Sender"] == {"ErrorCode": 451, "Probability": 30}
    assert body["Recipient"] == {"ErrorCode": 451, "Probability": 0}
    assert body["Authentication"] == {"ErrorCode": 535, "Probability": 0}
    reply = api.put(
        "/api/v1/chaos",
        json={"Recipient": {"ErrorCode": 550, "Probability": 10}, "Greylist": 2},
    )
    assert reply.status == 200
    assert chaos.config == ChaosConfig(recipient=Trigger(550, 10), greylist=2)  # Sender reset
    assert reply.json() == api.get("/api/v1/chaos").json()
    assert reply.json()["Sender"] == {"ErrorCode": 451, "Probability": 0}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "no body"),
        (b"{", "not JSON"),
        (b"[1]", "JSON object"),
        (b'{"Sender": {"ErrorCode": 700, "Probability": 1}}', "between 400 and 599"),
        (b'{"Recipient": {"ErrorCode": 451, "Probability": 250}}', "between 0 and 100"),
        (b'{"Delay": NaN}', "finite"),
        (b'{"Recipents": {}}', "unknown key"),
        (b"[" * 100_000, "not JSON"),
    ],
)
def test_a_bad_body_is_a_400_and_changes_nothing(
    api_for: ApiFor, tmp_path: Path, body: bytes, says: str
) -> None:
    api = api_for(tmp_path)
    config = ChaosConfig(sender=Trigger(451, 30))
    api.state.chaos = Chaos(config)
    reply = api.put("/api/v1/chaos", data=body, headers={"Content-Type": "application/json"})
    assert reply.status == 400
    assert says in reply.json()["Error"]
    assert api.state.chaos.config == config


def test_a_foreign_page_cannot_turn_chaos_on(api_for: ApiFor, tmp_path: Path) -> None:
    api = api_for(tmp_path)
    api.state.chaos = Chaos()
    reply = api.put(
        "/api/v1/chaos",
        json={"Sender": {"ErrorCode": 451, "Probability": 100}},
        headers={"Origin": "http://evil.test"},
    )
    assert reply.status == 403
    assert not api.state.chaos.config.active


def test_with_workers_a_change_is_refused(api_for: ApiFor, tmp_path: Path) -> None:
    api = api_for(tmp_path)
    api.state.chaos = FixedChaos(ChaosConfig(sender=Trigger(451, 30)))
    reply = api.put("/api/v1/chaos", json={})
    assert reply.status == 400 and "--workers" in reply.json()["Error"]
    assert api.get("/api/v1/chaos").json()["Sender"]["Probability"] == 30
