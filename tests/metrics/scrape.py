"""Scraping a live server's `/metrics` and reading it with Prometheus's own parser
(`prometheus_client.parser`), as a Prometheus server would."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import smtplib
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.support.server import ServerProcess

_API = re.compile(r"HTTP API on (https?://\S+?)/;")
TIMEOUT = 10.0
BODY = "Subject: hi\r\n\r\nhello\r\n"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
"""Each sample's value by its name and labels."""


def api(server: ServerProcess) -> str:
    """The base URL of the server's HTTP API, from its log."""
    match = _API.search(server.wait_for_log("HTTP API on"))
    assert match is not None
    return match[1]


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def fetch(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, str, str]:
    """(status, content type, body) of a GET."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as reply:
            return reply.status, reply.headers["Content-Type"], reply.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["Content-Type"], error.read().decode()


def scrape(server: ServerProcess, headers: Mapping[str, str] | None = None) -> Samples:
    """Every sample of the server's `/metrics`, parsed by the client package's parser."""
    status, content_type, body = fetch(api(server) + "/metrics", headers)
    assert status == 200, body
    assert content_type.startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample `name` with exactly `labels`; 0 when absent (a child never touched)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def json_of(body: str) -> Any:
    return json.loads(body)


def send(server: ServerProcess, *recipients: str, body: str = BODY) -> None:
    """One message, its own connection; recipients refused are tolerated."""
    refused = contextlib.suppress(smtplib.SMTPRecipientsRefused)
    with smtplib.SMTP(*server.address, timeout=TIMEOUT) as client, refused:
        client.sendmail("sender@example.org", list(recipients), body)
