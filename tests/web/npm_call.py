"""One call of npm's `mailpit-api` client against a running server, through
`npm_call.mjs`: what each endpoint's test asks of the client that Mailpit's users have."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support.tools import require_tool
from tests.web.test_npm_client import installed

SCRIPT = Path(__file__).with_name("npm_call.mjs")
TIMEOUT = 60


def npm_call(url: str, method: str, *args: Any) -> dict[str, Any]:
    """`{"ok": True, "value": ...}` or `{"ok": False, "error": "..."}` of
    `new MailpitClient(url)[method](...args)`."""
    node = require_tool("node", "nodejs")
    directory = installed(require_tool("npm", "npm"))
    done = subprocess.run(
        [node, str(SCRIPT), str(directory), url.rstrip("/"), method, json.dumps(args)],
        capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result
