"""The JSON schemas of the OpenAPI document (`openapi`): what each answer of the API
holds, field for field as `shapes` writes it and nothing more, and what a change's
body may hold."""

from __future__ import annotations

from typing import Any, Final

Json = dict[str, Any]


def ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: Json) -> Json:
    """An answer's JSON object: exactly these fields, every one of them present."""
    return {
        "type": "object",
        "properties": properties,
        "required": sorted(properties),
        "additionalProperties": False,
    }


def _request(properties: Json) -> Json:
    """A request's body: any of these fields; others are ignored (as Go's decoder
    ignores them in Mailpit), names matched in any case."""
    return {"type": "object", "properties": properties}


def array(items: Json) -> Json:
    return {"type": "array", "items": items}


def _nullable(schema: Json) -> Json:
    """A request's field that may be null: as if it were not given (Go's decoder)."""
    return {**schema, "type": [schema["type"], "null"]}


STRING: Final[Json] = {"type": "string"}
COUNT: Final[Json] = {"type": "integer", "minimum": 0}
_BOOL: Final[Json] = {"type": "boolean"}
_SHARE: Final[Json] = {"type": "number", "minimum": 0, "maximum": 100}
_SHARES: Final[Json] = {"Supported": _SHARE, "Partial": _SHARE, "Unsupported": _SHARE}
_CHECK_SCHEMAS: Final[Json] = {
    "HTMLCheckResponse": _object(
        {
            "Warnings": array(ref("HTMLCheckWarning")),
            "Platforms": {"type": "object", "additionalProperties": array(STRING)},
            "Total": ref("HTMLCheckTotal"),
            "Families": {
                "type": "object",
                "description": "postier's: each client family's score, as Total's.",
                "additionalProperties": _object({"Name": STRING, **_SHARES}),
            },
        }
    ),
    "HTMLCheckTotal": _object({"Nodes": COUNT, "Tests": COUNT, **_SHARES}),
    "HTMLCheckWarning": _object(
        {
            "Slug": STRING,
            "Title": STRING,
            "Description": STRING,
            "URL": STRING,
            "Category": STRING,
            "Tags": array(STRING),
            "Keywords": STRING,
            "Results": array(ref("HTMLCheckResult")),
            "NotesByNumber": {"type": "object", "additionalProperties": STRING},
            "Score": _object({"Found": COUNT, **_SHARES}),
        }
    ),
    "HTMLCheckResult": _object(
        {
            "Name": STRING,
            "Platform": STRING,
            "Family": STRING,
            "Version": STRING,
            "Support": {"type": "string", "enum": ["yes", "no", "partial"]},
            "NoteNumber": STRING,
        }
    ),
    "LinkCheckResponse": _object(
        {
            "Errors": COUNT,
            "Links": array(
                _object({"URL": STRING, "StatusCode": COUNT, "Status": STRING}),
            ),
        }
    ),
    "SpamAssassinResponse": _object(
        {
            "IsSpam": _BOOL,
            "Error": STRING,
            "Score": {"type": "number"},
            "Rules": array(
                _object({"Score": {"type": "number"}, "Name": STRING, "Description": STRING})
            ),
        }
    ),
}
_TIME: Final[Json] = {"type": "string", "format": "date-time"}
_ADDRESSES: Final[Json] = array(ref("Address"))
_SEND_ADDRESS: Final[Json] = _request({"Email": STRING, "Name": _nullable(STRING)})
_GO_BOOL: Final[Json] = {
    "type": "string",
    "enum": ["1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"],
    "description": "What Go's strconv.ParseBool reads.",
}

_SUMMARY_FIELDS: Final[Json] = {
    "ID": {**STRING, "description": "The stored copy's ID, stable across restarts."},
    "MessageID": {**STRING, "description": "Its Message-ID, without the angle brackets."},
    "Read": _BOOL,
    "From": ref("Address"),
    "To": _ADDRESSES,
    "Cc": _ADDRESSES,
    "Bcc": {**_ADDRESSES, "description": "The copy's recipient when no To or Cc names it."},
    "ReplyTo": _ADDRESSES,
    "Subject": STRING,
    "Username": {**STRING, "description": "Who logged in to send it (SMTP AUTH), or ''."},
    "Tags": array(STRING),
    "Size": {**COUNT, "description": "Bytes, as stored."},
}

_SESSION_FIELDS: Final[Json] = {
    "ID": STRING,
    "Client": STRING,
    "Started": _TIME,
    "Ended": {"type": ["string", "null"], "format": "date-time"},
    "Accepted": COUNT,
    "Refused": COUNT,
    "Messages": array(STRING),
}
"""A kept SMTP session's summary (`/api/v1/sessions`, and each narrated one)."""

SCHEMAS: Final[Json] = {
    "Error": {**_object({"Error": STRING}), "description": "Every refusal and failure."},
    "Address": _object({"Name": STRING, "Address": STRING}),
    "MessageSummary": _object(
        {
            **_SUMMARY_FIELDS,
            "Created": {**_TIME, "description": "When the store received it."},
            "Attachments": {**COUNT, "description": "How many attachments it has."},
            "Snippet": {**STRING, "description": "The start of its text."},
        }
    ),
    "MessagesSummary": _object(
        {
            "total": {**COUNT, "description": "Messages of the store (or of ?mailbox=)."},
            "unread": {**COUNT, "description": "Of those, unread."},
            "count": {**COUNT, "description": "Messages in this answer."},
            "messages_count": {**COUNT, "description": "Messages that match."},
            "messages_unread": {**COUNT, "description": "Of those, unread."},
            "start": COUNT,
            "tags": array(STRING),
            "messages": array(ref("MessageSummary")),
        }
    ),
    "Attachment": _object(
        {
            "PartID": {**STRING, "description": "Its path in the MIME tree: 1.2"},
            "FileName": STRING,
            "ContentType": STRING,
            "ContentID": STRING,
            "Size": {**COUNT, "description": "Bytes, decoded."},
            "Checksums": _object({"MD5": STRING, "SHA1": STRING, "SHA256": STRING}),
        }
    ),
    "Message": _object(
        {
            **_SUMMARY_FIELDS,
            "ReturnPath": STRING,
            "ListUnsubscribe": _object(
                {
                    "Header": STRING,
                    "Links": array(STRING),
                    "Errors": STRING,
                    "HeaderPost": STRING,
                }
            ),
            "Date": {**_TIME, "description": "Its Date header (else when it was received)."},
            "Text": STRING,
            "HTML": STRING,
            "Inline": array(ref("Attachment")),
            "Attachments": array(ref("Attachment")),
        }
    ),
    "Headers": {
        "type": "object",
        "description": "Every header field under its canonical name, its values in order.",
        "additionalProperties": array(STRING),
    },
    "Mailbox": _object(
        {
            "Address": STRING,
            "Total": COUNT,
            "Unread": COUNT,
            "Size": COUNT,
            "Newest": {"type": ["string", "null"], "format": "date-time"},
        }
    ),
    "Session": _object(_SESSION_FIELDS),
    "Sessions": _object({"Kept": COUNT, "Sessions": array(ref("Session"))}),
    "SessionLine": _object({"Time": _TIME, "Part": STRING, "Wire": STRING, "Text": STRING}),
    "NarratedSession": _object(
        {
            **_SESSION_FIELDS,
            "Language": {"type": "string", "enum": ["fr", "en"]},
            "Lines": array(ref("SessionLine")),
            "Dropped": COUNT,
        }
    ),
    "ChaosTrigger": _object({"ErrorCode": COUNT, "Probability": COUNT}),
    "ChaosTriggers": _object(
        {
            "Sender": ref("ChaosTrigger"),
            "Recipient": ref("ChaosTrigger"),
            "Authentication": ref("ChaosTrigger"),
            "Data": ref("ChaosTrigger"),
            "Disconnect": _object({"Probability": COUNT}),
            "Delay": {"type": "number", "minimum": 0},
            "Greylist": {"type": "number", "minimum": 0},
        }
    ),
    "ChaosBody": {"type": "object"},
    "ReleaseBody": _request({"To": array(STRING)}),
    "SendRequest": _request(
        {
            "From": _request({"Email": STRING, "Name": _nullable(STRING)}),
            "To": _nullable(array(_SEND_ADDRESS)),
            "Cc": _nullable(array(_SEND_ADDRESS)),
            "Bcc": _nullable(array(STRING)),
            "ReplyTo": _nullable(array(_SEND_ADDRESS)),
            "Subject": _nullable(STRING),
            "Text": _nullable(STRING),
            "HTML": _nullable(STRING),
            "Attachments": _nullable(
                array(
                    _request(
                        {
                            "Content": {**STRING, "description": "The bytes, in base64."},
                            "Filename": STRING,
                            "ContentType": _nullable(STRING),
                            "ContentID": _nullable(STRING),
                        }
                    )
                )
            ),
            "Headers": {
                "type": ["object", "null"],
                "additionalProperties": STRING,
                "description": "More header fields; not those the other fields write.",
            },
            "Tags": {**_nullable(array(STRING)), "description": "Written as X-Tags."},
        }
    ),
    "SendMessageConfirmation": _object(
        {"ID": {**STRING, "description": "The stored delivery's ID (all mail lists it)."}}
    ),
    "SendError": {
        "type": "object",
        "properties": {
            "Error": STRING,
            "Reply": {**STRING, "description": "The SMTP server's reply ('' for none)."},
            "Refused": {
                "type": "object",
                "additionalProperties": STRING,
                "description": "Each refused recipient's reply.",
            },
            "ID": {**STRING, "description": "What was stored for the other recipients."},
        },
        "required": ["Error"],
        "additionalProperties": False,
        "description": "A refusal of a send: the API's, or the SMTP server's own.",
    },
    **_CHECK_SCHEMAS,
    "SetTagsBody": _request({"Tags": _nullable(array(STRING)), "IDs": _nullable(array(STRING))}),
    "RenameTagBody": _request({"Name": STRING}),
    "WebUIConfiguration": _object(
        {
            "Label": STRING,
            "MessageRelay": _object(
                {
                    "Enabled": _BOOL,
                    "SMTPServer": STRING,
                    "ReturnPath": STRING,
                    "AllowedRecipients": STRING,
                    "BlockedRecipients": STRING,
                    "OverrideFrom": STRING,
                    "PreserveMessageIDs": _BOOL,
                }
            ),
            "SpamAssassin": _BOOL,
            "ChaosEnabled": _BOOL,
            "DuplicatesIgnored": _BOOL,
            "HideDeleteAllButton": _BOOL,
        }
    ),
    "AppInformation": _object(
        {
            "Version": STRING,
            "LatestVersion": STRING,
            "Database": STRING,
            "DatabaseSize": COUNT,
            "Messages": COUNT,
            "Unread": COUNT,
            "Tags": {"type": "object", "additionalProperties": COUNT},
            "RuntimeStats": _object(
                {
                    name: COUNT
                    for name in (
                        "Uptime",
                        "Memory",
                        "MessagesDeleted",
                        "SMTPAccepted",
                        "SMTPAcceptedSize",
                        "SMTPRejected",
                        "SMTPIgnored",
                    )
                }
            ),
        }
    ),
    "ChangeBody": _request(
        {
            "IDs": _nullable(array(STRING)),
            "Read": _nullable(_BOOL),
            "Search": _nullable(
                {**STRING, "description": "Instead of IDs: every message that matches."}
            ),
        }
    ),
    "ChangeForm": _request({"IDs": array(STRING), "Read": _GO_BOOL, "Search": STRING}),
    "DeleteBody": _request({"IDs": _nullable(array(STRING))}),
    "DeleteForm": _request({"IDs": array(STRING)}),
}
