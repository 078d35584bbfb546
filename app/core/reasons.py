"""Reason codes: the stable, machine-readable words behind every status.

A program reads the code; a person reads the sentence.  Codes are part of the
``scan --json`` contract, so a code is never renamed, only added.
"""

from __future__ import annotations

# Why a single file will not load in Claude Desktop.
EMPTY = "empty"
ZERO_FILLED = "zero-filled"
TRUNCATED = "truncated"
BOM = "bom"
INVALID_JSON = "invalid-json"
BINARY = "binary"
NAN_OR_INFINITY = "nan-or-infinity"
TOO_LARGE = "too-large"
NOT_OBJECT = "not-object"
ID_MISMATCH = "id-mismatch"
NULL_TIMESTAMP = "null-timestamp"
BAD_TIMESTAMP = "bad-timestamp"
UNREADABLE = "unreadable"
LINK_OUTSIDE = "link-outside"
BROKEN_LINK = "broken-link"

# What a session's files say together.
TMP_ONLY = "tmp-only"
TMP_NEWER = "tmp-newer"
JSON_UNLOADABLE = "json-unloadable"
TOMBSTONED = "tombstoned"

# Worth knowing, but the session still loads.
TMP_LEFTOVER = "tmp-leftover"
TMP_UNLOADABLE = "tmp-unloadable"
INVALID_UTF8 = "invalid-utf8"
UNLINKED = "unlinked"

# A transcript with no record (the fourth kind, transcript-only).
NO_RECORD = "no-record"
LINK_PROPOSED = "link-proposed"

DESCRIPTIONS: dict[str, str] = {
    EMPTY: "the file is empty, or holds only blanks",
    ZERO_FILLED: "the file holds zero bytes where the record should be (a crash wiped it)",
    TRUNCATED: "the file stops in the middle of the record",
    BOM: "the file starts with a byte-order mark, which Claude Desktop rejects",
    INVALID_JSON: "the file is not valid JSON",
    BINARY: "the file holds binary data, not a JSON record",
    NAN_OR_INFINITY: "the record holds NaN or Infinity, which JavaScript's JSON.parse rejects",
    TOO_LARGE: "the file is larger than JavaScript can read as one string",
    NOT_OBJECT: "the top level of the file is not a JSON object",
    ID_MISMATCH: "sessionId does not match the file name",
    NULL_TIMESTAMP: "createdAt or lastActivityAt is null or missing",
    BAD_TIMESTAMP: "createdAt or lastActivityAt is neither epoch milliseconds nor an ISO date",
    UNREADABLE: "the file cannot be read",
    LINK_OUTSIDE: "a link pointing outside the data folder; not followed",
    BROKEN_LINK: "a link whose target does not exist",
    TMP_ONLY: "only the unsaved .tmp copy exists (the rename to .json failed)",
    TMP_NEWER: "the .tmp copy is newer than the .json",
    JSON_UNLOADABLE: "the .json will not load, but the .tmp copy does",
    TOMBSTONED: "deleted in Claude Desktop (a tombstone exists); it will not be restored",
    TMP_LEFTOVER: "an older .tmp copy was left behind",
    TMP_UNLOADABLE: "a .tmp copy exists but will not load",
    INVALID_UTF8: "holds bytes that are not UTF-8; Claude Desktop shows them as \ufffd",
    UNLINKED: "the record lost the link to its transcript (cliSessionId is null, or transcriptUnavailable is "
              "set); a transcript that matches it was found",
    NO_RECORD: "a Claude Code transcript that no session record points to; a record can be rebuilt from it",
    LINK_PROPOSED: "this transcript matches a record that lost its link; linking it is proposed instead",
}

# The codes that leave a session loadable: they inform, they do not condemn.
INFORMATIONAL = frozenset({TMP_LEFTOVER, TMP_UNLOADABLE, INVALID_UTF8, UNLINKED, NO_RECORD, LINK_PROPOSED})


def describe(code: str) -> str:
    return DESCRIPTIONS.get(code, code)
