"""Each limit is described once: the CLI's options fill `Settings` by name, with its
defaults, and the settings the protocol core enforces reach `ServerConfig` without a copy."""

from __future__ import annotations

import dataclasses
import os

import pytest

from postier.cli import build_parser
from postier.cli.serve import OPTIONS, settings_from
from postier.protocol.smtp.config import ServerConfig
from postier.settings import PROTOCOL, Settings


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.startswith("POSTIER_"):
            monkeypatch.delenv(name)


def test_the_cli_without_options_gives_the_default_settings() -> None:
    assert settings_from(build_parser().parse_args(["serve"])) == Settings()


def test_every_option_fills_a_setting_of_its_name() -> None:
    names = {item.name for item in dataclasses.fields(Settings)}
    assert {option.setting for option in OPTIONS} <= names
    args = build_parser().parse_args(
        ["serve", "--max-size", "1K", "--max-recipients", "7", "--no-fsync", "--workers", "3"]
    )
    settings = settings_from(args)
    assert (settings.max_size, settings.max_recipients) == (1024, 7)
    assert (settings.fsync, settings.workers) == (False, 3)


def test_the_core_gets_every_setting_marked_for_it() -> None:
    settings = Settings(
        hostname="mx.test",
        max_size=1234,
        max_recipients=3,
        max_errors=4,
        auth="any",
        auth_insecure=True,
        auth_required=True,
    )
    config = settings.protocol_config()
    marked = {
        item.metadata[PROTOCOL]: getattr(settings, item.name)
        for item in dataclasses.fields(Settings)
        if PROTOCOL in item.metadata
    }
    assert marked == {
        "hostname": "mx.test",
        "max_message_size": 1234,
        "max_recipients": 3,
        "max_errors": 4,
        "auth_insecure": True,
        "auth_required": True,
    }
    assert all(getattr(config, name) == value for name, value in marked.items())
    assert config.auth_mechanisms == ("PLAIN", "LOGIN", "CRAM-MD5")
    assert config.tls_available is False


def test_the_core_and_the_settings_share_their_defaults() -> None:
    config, settings = ServerConfig(), Settings().protocol_config()
    assert settings.max_message_size == config.max_message_size
    assert settings.max_recipients == config.max_recipients
    assert settings.max_errors == config.max_errors
