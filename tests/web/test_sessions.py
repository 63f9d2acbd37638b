"""`/api/v1/sessions`, `/api/v1/session/{ID}` and `/api/v1/message/{ID}/session` of a
running `postier serve`: the sessions it served, each told in French or English."""

from __future__ import annotations

import json
import re
import smtplib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import ServerProcess

_API = re.compile(r"HTTP API on (http://\S+?)/;")


def api(server: ServerProcess) -> str:
    match = _API.search(server.wait_for_log("HTTP API on"))
    assert match is not None
    return match[1]


def get(url: str, **headers: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


def send(server: ServerProcess, subject: str) -> None:
    with smtplib.SMTP(*server.address, timeout=10) as client:
        client.sendmail("alice@exemple.fr", ["bob@exemple.fr"],
                        f"Subject: {subject}\r\n\r\nbody\r\n".encode())  # fmt: skip


def test_sessions_are_listed_and_told(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "store", "--http-port", "0") as server:
        base = api(server)
        send(server, "one")
        server.wait_for_log("closed after")
        status, listing = get(f"{base}/api/v1/sessions")
        assert status == 200 and listing["Kept"] == 200
        (session,) = listing["Sessions"]
        assert session["Accepted"] == 1 and session["Refused"] == 0
        assert session["Ended"] is not None and len(session["Messages"]) == 1

        status, french = get(f"{base}/api/v1/session/{session['ID']}?lang=fr")
        assert status == 200 and french["Language"] == "fr"
        parts = [line["Part"] for line in french["Lines"]]
        assert parts[0] == "écouteur" and parts[-1] == "terminus"
        assert "intermédiaire" in parts
        wires = [line["Wire"] for line in french["Lines"]]
        assert "c: mail from:<alice@exemple.fr>" in " ".join(wires).lower()
        assert all(line["Time"].endswith("Z") for line in french["Lines"])

        _, english = get(f"{base}/api/v1/session/{session['ID']}", **{"Accept-Language": "en-GB"})
        assert english["Language"] == "en"
        assert [line["Wire"] for line in english["Lines"]] == wires
        _, browser_fr = get(f"{base}/api/v1/session/{session['ID']}",
                            **{"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.8"})  # fmt: skip
        assert browser_fr["Language"] == "fr"

        _, messages = get(f"{base}/api/v1/messages")
        message_id = messages["messages"][0]["ID"]
        status, delivered_by = get(f"{base}/api/v1/message/{message_id}/session")
        assert status == 200 and delivered_by["ID"] == session["ID"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/session/s999", 404),
        ("/api/v1/session/s1?lang=de", 400),
        ("/api/v1/message/nosuchmessageid00/session", 404),
    ],
)
def test_errors_are_json(tmp_path: Path, path: str, status: int) -> None:
    with ServerProcess(tmp_path / "store", "--http-port", "0") as server:
        base = api(server)
        send(server, "one")
        server.wait_for_log("closed after")
        got, body = get(base + path)
        assert got == status and isinstance(body["Error"], str)


def test_only_the_last_sessions_are_kept_and_none_with_zero(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "a", "--http-port", "0", "--sessions-kept", "2") as server:
        base = api(server)
        for n in range(3):
            send(server, f"m{n}")
            server.wait_for_log("closed after", count=n + 1)
        _, listing = get(f"{base}/api/v1/sessions")
        assert [s["ID"] for s in listing["Sessions"]] == ["s3", "s2"]
    with ServerProcess(tmp_path / "b", "--http-port", "0", "--sessions-kept", "0") as server:
        base = api(server)
        send(server, "m")
        server.wait_for_log("closed after")
        assert get(f"{base}/api/v1/sessions")[1] == {"Kept": 0, "Sessions": []}
        assert get(f"{base}/api/v1/session/s1")[0] == 404
