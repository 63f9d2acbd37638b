"""Every step either core can take has its words in every language: a state, command,
event, reply code or end added without them fails here."""

from __future__ import annotations

import dataclasses
import string

import pytest

from postier.ends import EndReason
from postier.explain.explainer import CATALOGUES
from postier.explain.parts import LABELS, Part
from postier.explain.server_narrator import EVENT_PARTS, VERBS
from postier.explain.texts import Say, Texts
from postier.protocol.smtp import client_events, events
from postier.protocol.smtp.client_state import ClientState
from postier.protocol.smtp.codes import ReplyCode
from postier.protocol.smtp.state import State

LANGUAGES = sorted(CATALOGUES)
CLIENT_EVENT_CLASSES = sorted(
    (cls for cls in vars(client_events).values()
     if isinstance(cls, type) and issubclass(cls, client_events.ClientEvent)
     and cls is not client_events.ClientEvent),
    key=lambda cls: cls.__name__,
)  # fmt: skip
EVENT_CLASSES = sorted(
    (cls for cls in vars(events).values()
     if isinstance(cls, type) and issubclass(cls, events.ServerEvent)
     and cls is not events.ServerEvent),
    key=lambda cls: cls.__name__,
)  # fmt: skip


def names(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


def test_both_languages_are_there() -> None:
    assert LANGUAGES == ["en", "fr"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_part_has_a_label(language: str) -> None:
    assert set(LABELS[language]) == set(Part)  # type: ignore[index]


@pytest.mark.parametrize(
    ("part", "fr", "en"),
    [
        (Part.LISTENER, "écouteur", "listener"),
        (Part.BRAIN, "cerveau", "brain"),
        (Part.UNDERSTAND, "comprendre", "understand"),
        (Part.PROCESS, "traiter", "process"),
        (Part.SEND, "envoyer", "send"),
        (Part.INTERMEDIARY, "intermédiaire", "intermediary"),
        (Part.TERMINUS, "terminus", "terminus"),
        (Part.WRITER, "écrivain", "writer"),
        (Part.LISTEN, "écouter", "listen"),
        (Part.PROCESSING, "traitement", "processing"),
    ],
)
def test_labels_are_spelled_as_the_brief_spells_them(part: Part, fr: str, en: str) -> None:
    assert LABELS["fr"][part] == fr
    assert LABELS["en"][part] == en


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_table_is_complete(language: str) -> None:
    texts: Texts = CATALOGUES[language]  # type: ignore[index]
    assert set(texts.says) == set(Say)
    assert set(texts.states) == set(State)
    assert set(texts.commands) == set(VERBS.values())
    assert set(texts.events) == set(EVENT_CLASSES)
    assert set(texts.codes) == {code.value for code in ReplyCode}
    assert set(texts.ends) == set(EndReason)
    assert set(texts.sequence_hints) == set(VERBS.values())
    assert set(texts.syntax_hints) == set(VERBS.values())
    assert set(texts.client_states) == set(ClientState)
    assert set(texts.client_events) == set(CLIENT_EVENT_CLASSES)


def test_every_event_has_its_part() -> None:
    assert set(EVENT_PARTS) == {cls.__name__ for cls in EVENT_CLASSES}


@pytest.mark.parametrize("language", LANGUAGES)
def test_templates_name_only_fields_they_are_given(language: str) -> None:
    texts: Texts = CATALOGUES[language]  # type: ignore[index]
    for command, template in texts.commands.items():
        assert names(template) <= {f.name for f in dataclasses.fields(command)}, template
    for event, template in texts.events.items():
        given = {f.name for f in dataclasses.fields(event)} | {"count"}
        assert names(template) <= given - {"credentials"}, template
    for template in texts.client_events.values():
        assert names(template) <= {"command", "accepted", "refused"}, template
    tables = (texts.states, texts.codes, texts.ends, texts.sequence_hints, texts.syntax_hints,
              texts.client_states)  # fmt: skip
    for table in tables:
        for template in table.values():
            assert not names(template), template


def test_both_languages_ask_for_the_same_fields() -> None:
    fr, en = CATALOGUES["fr"], CATALOGUES["en"]
    for say in Say:
        assert names(fr.says[say]) == names(en.says[say]), say
    for command in fr.commands:
        assert names(fr.commands[command]) == names(en.commands[command]), command
    for event in fr.events:
        assert names(fr.events[event]) == names(en.events[event]), event
