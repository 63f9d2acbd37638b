"""The tag endpoints of a real `postier serve --tags-from-plus`: mail sent over SMTP with
`X-Tags:` and to a plus-address, then `GET/PUT /api/v1/tags`, `PUT/DELETE
/api/v1/tags/{tag}`, `tag:` searches, and `Tags` in summaries, the message, the list's
`tags` and `/api/v1/info`, in Mailpit's shapes; the API's tags outlive a restart and a
`postier reindex`; the PyPI `mailpit-api-client` still reads the tagged lists."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from mailpit.client.api import API

from tests.conftest import StartServer
from tests.store_read.helpers import deliver, plain, send
from tests.support.server import ServerProcess
from tests.web.process import WebProcess
from tests.web.test_serve import _API, api_url

ALICE = "alice@example.org"
PLUS = "bob+invoice@example.org"


def call(
    url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, str, bytes]:
    """(status, content type, body) of one request."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get_content_type(), error.read()


def get_json(url: str) -> Any:
    status, kind, body = call(url)
    assert (status, kind) == (200, "application/json"), body
    return json.loads(body)


def ok(url: str, method: str, body: Any = None) -> None:
    assert call(url, method, body) == (200, "text/plain", b"ok")


def refused(url: str, method: str, body: Any, status: int, error: str) -> None:
    got, kind, answer = call(url, method, body)
    assert (got, kind) == (status, "application/json"), answer
    assert json.loads(answer) == {"Error": error}


def search(url: str, query: str) -> list[str]:
    found = get_json(f"{url}/api/v1/search?query={urllib.parse.quote(query)}")
    return sorted(m["Subject"] for m in found["messages"])


def wait_for(url: str, query: str) -> Any:
    return get_json(f"{url}/api/v1/wait?query={urllib.parse.quote(query)}&timeout=10")


@pytest.fixture
def served(start_server: StartServer) -> tuple[ServerProcess, str]:
    server = start_server("--http-port", "0", "--tags-from-plus")
    url = api_url(server)
    send(server, plain("Tagged", x_tags="Invoice, Urgent!", message_id="<t@x>"), [ALICE])
    send(server, plain("Plus", message_id="<p@x>"), [PLUS])
    send(server, plain("Plain", message_id="<n@x>"), [ALICE])
    wait_for(url, "subject:plain")
    return server, url


def ids(url: str) -> dict[str, str]:
    return {m["Subject"]: m["ID"] for m in get_json(f"{url}/api/v1/messages")["messages"]}


def test_tags_from_the_header_and_the_plus_address(served: tuple[ServerProcess, str]) -> None:
    _, url = served
    assert get_json(f"{url}/api/v1/tags") == ["Invoice", "Urgent"]  # one spelling each
    listing = get_json(f"{url}/api/v1/messages")
    assert listing["tags"] == ["Invoice", "Urgent"]
    tags = {m["Subject"]: m["Tags"] for m in listing["messages"]}
    assert tags == {"Tagged": ["Invoice", "Urgent"], "Plus": ["invoice"], "Plain": []}
    assert search(url, "tag:invoice") == ["Plus", "Tagged"]
    assert search(url, "-tag:invoice") == ["Plain"]
    assert search(url, "is:tagged") == ["Plus", "Tagged"]
    message = get_json(f"{url}/api/v1/message/{ids(url)['Tagged']}")
    assert message["Tags"] == ["Invoice", "Urgent"]
    assert get_json(f"{url}/api/v1/info")["Tags"] == {"Invoice": 2, "Urgent": 1}


def test_put_sets_exactly_the_tags(served: tuple[ServerProcess, str]) -> None:
    _, url = served
    found = ids(url)
    body = {"Tags": ["Review", "  two  words ", "review"], "IDs": [found["Plain"], found["Plus"]]}
    ok(f"{url}/api/v1/tags", "PUT", body)
    assert search(url, "tag:review") == ["Plain", "Plus"]
    assert search(url, 'tag:"two words"') == ["Plain", "Plus"]
    assert get_json(f"{url}/api/v1/message/{found['Plus']}")["Tags"] == ["Review", "two words"]
    ok(f"{url}/api/v1/tags", "PUT", {"tags": [], "ids": [found["Tagged"]]})  # any case
    assert get_json(f"{url}/api/v1/message/{found['Tagged']}")["Tags"] == []
    assert get_json(f"{url}/api/v1/tags") == ["Review", "two words"]
    ok(f"{url}/api/v1/tags", "PUT", {"Tags": ["x"]})  # no IDs: nothing to do
    assert get_json(f"{url}/api/v1/tags") == ["Review", "two words"]


def test_rename_and_delete(served: tuple[ServerProcess, str]) -> None:
    _, url = served
    ok(f"{url}/api/v1/tags/invoice", "PUT", {"Name": "Bill"})
    assert get_json(f"{url}/api/v1/tags") == ["Bill", "Urgent"]
    assert search(url, "tag:bill") == ["Plus", "Tagged"]
    assert search(url, "tag:invoice") == []
    ok(f"{url}/api/v1/tags/{urllib.parse.quote('Urgent')}", "DELETE")
    assert get_json(f"{url}/api/v1/tags") == ["Bill"]
    assert {m["Subject"]: m["Tags"] for m in get_json(f"{url}/api/v1/messages")["messages"]} == {
        "Tagged": ["Bill"],
        "Plus": ["Bill"],
        "Plain": [],
    }


SET = 'give {"Tags": [...], "IDs": [...]}'
NAME = 'Name must be the new name of the tag, as in {"Name": "new name"}'
REFUSALS = [
    ("PUT", "/api/v1/tags", None, f"no body: {SET}"),
    ("PUT", "/api/v1/tags", [], f"the body must be a JSON object: {SET}"),
    ("PUT", "/api/v1/tags", {"Tags": "x", "IDs": []}, "Tags must be a list of tag names"),
    ("PUT", "/api/v1/tags", {"Tags": [], "IDs": [1]}, "IDs must be a list of message IDs"),
    ("PUT", "/api/v1/tags/invoice", {"Name": 3}, NAME),
    ("PUT", "/api/v1/tags/invoice", {"Name": "Urgent"}, "tag already exists: Urgent"),
    ("PUT", "/api/v1/tags/invoice", {"Name": "!!"}, "invalid tag name: '!!'"),
    ("PUT", "/api/v1/tags/nothing", {"Name": "else"}, "tag not found: nothing"),
    ("DELETE", "/api/v1/tags/nothing", None, "tag not found: nothing"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "error"), REFUSALS)
def test_refusals(
    served: tuple[ServerProcess, str], method: str, path: str, body: Any, error: str
) -> None:
    _, url = served
    refused(f"{url}{path}", method, body, 400, error)
    assert get_json(f"{url}/api/v1/tags") == ["Invoice", "Urgent"]  # nothing changed


def test_an_unknown_id_is_a_404_and_changes_nothing(served: tuple[ServerProcess, str]) -> None:
    _, url = served
    plain_id = ids(url)["Plain"]
    status, _, _ = call(f"{url}/api/v1/tags", "PUT", {"Tags": ["x"], "IDs": [plain_id, "nope"]})
    assert status == 404
    assert get_json(f"{url}/api/v1/message/{plain_id}")["Tags"] == []


def test_another_origin_cannot_change_tags(served: tuple[ServerProcess, str]) -> None:
    _, url = served
    body = json.dumps({"Tags": ["x"], "IDs": [ids(url)["Plain"]]}).encode()
    request = urllib.request.Request(
        f"{url}/api/v1/tags", data=body, method="PUT", headers={"Origin": "http://evil.test"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    with caught.value:
        assert caught.value.code == 403
    assert search(url, "tag:x") == []


def test_tags_outlive_a_restart_and_a_reindex(served: tuple[ServerProcess, str]) -> None:
    server, url = served
    found = ids(url)
    ok(f"{url}/api/v1/tags", "PUT", {"Tags": ["Kept"], "IDs": [found["Plain"]]})
    ok(f"{url}/api/v1/tags/urgent", "DELETE")
    server.stop()
    reindexed = subprocess.run(
        [sys.executable, "-m", "postier", "reindex", "--store", str(server.store)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert reindexed.returncode == 0, reindexed.stderr
    server.start()
    server.wait_for_log(r"HTTP API on ", count=2)
    url = _API.findall(server.log_text(since_start=True))[-1]
    tags = {m["Subject"]: m["Tags"] for m in get_json(f"{url}/api/v1/messages")["messages"]}
    assert tags == {"Tagged": ["Invoice"], "Plus": ["invoice"], "Plain": ["Kept"]}


def test_the_pypi_client_reads_tagged_lists(served: tuple[ServerProcess, str]) -> None:
    _, url = served
    client = API(url, timeout=10)
    listing = client.get_messages()
    assert sorted(m.subject for m in listing.messages) == ["Plain", "Plus", "Tagged"]
    assert client.get_message(ids(url)["Tagged"]).subject == "Tagged"


@pytest.mark.parametrize(("args", "tags"), [((), []), (("--tags-from-plus",), ["invoice"])])
def test_postier_web_takes_the_option(
    tmp_path: Path, args: tuple[str, ...], tags: list[str]
) -> None:
    store = tmp_path / "mail"
    deliver(store, "maildir", [plain("Plus")], [PLUS])
    process = WebProcess(store, *args).start()
    try:
        (entry,) = get_json(f"{process.url}/api/v1/messages")["messages"]
        assert entry["Tags"] == tags
    finally:
        assert process.stop() == 0, process.log_text()
