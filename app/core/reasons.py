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

# Whether Claude Desktop lists the session and opens its conversation
# (failures reference, classes O to Y): the walk in opens.py.
OTHER_ACCOUNT = "other-account"  # listed when the user signs in to that account
OTHER_INSTALL = "other-install"  # X: in the data folder Claude Desktop does not read
CONVERSATION_MISSING = "conversation-missing"  # its conversation exists nowhere on this computer
TRANSCRIPT_IN_SANDBOX = "transcript-in-sandbox"  # O
SANDBOX_COPIES_DIFFER = "sandbox-copies-differ"  # O, but several different copies: only a person can choose
LINK_DANGLING = "link-dangling"  # Q: cliSessionId names no file
STUB_SHADOWS = "stub-shadows"  # T: an empty stub with its id may be opened instead of its conversation
STUB_ONLY = "stub-only"  # V: its transcript holds no conversation, only titles and modes
SSH_MIRROR_MISSING = "ssh-mirror-missing"  # R: the local copy of an SSH session is missing or empty
SSH_HOST_FAILING = "ssh-host-failing"  # S (diagnosis): Claude Desktop's log shows its host failing
TRANSCRIPT_ID_MISMATCH = "transcript-id-mismatch"  # T2 (diagnosis): its lines name another session
TRUST_OTHER_SPELLING = "trust-other-spelling"  # P (diagnosis): its folder is trusted under another spelling
HIDES_LIST = "hides-list"  # a null timestamp here blanks Claude Desktop's whole list
STUB = "stub"  # a transcript-only row that is a stub: never rebuilt

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
    OTHER_ACCOUNT: "it belongs to another account: Claude Desktop shows it when you sign in to that account",
    OTHER_INSTALL: "it is in the data folder of another Claude Desktop install, which the app does not read",
    CONVERSATION_MISSING: "its conversation (the transcript) is nowhere on this computer",
    TRANSCRIPT_IN_SANDBOX: "its conversation is in Claude Desktop's old per-session folder, where the app no "
                           "longer looks",
    SANDBOX_COPIES_DIFFER: "its conversation is in Claude Desktop's old per-session folders, in copies that differ; "
                           "none is copied, since only you can tell which is right",
    LINK_DANGLING: "its record points at a conversation that does not exist",
    STUB_SHADOWS: "an empty stub of its conversation sits in another project folder, and may be opened instead",
    STUB_ONLY: "its transcript holds no conversation (only a title or settings)",
    SSH_MIRROR_MISSING: "an SSH session whose local copy of the conversation is missing or empty",
    SSH_HOST_FAILING: "Claude Desktop's log shows the connection to its SSH host failing",
    TRANSCRIPT_ID_MISMATCH: "its transcript's lines name another session (sync or merge damage)",
    TRUST_OTHER_SPELLING: "its folder is trusted, but under a spelling Claude Desktop does not read",
    HIDES_LIST: "its missing timestamp makes Claude Desktop show an empty list for the whole account",
    STUB: "a transcript with no conversation in it (a stub): nothing to rebuild",
}

# The codes of the walk beyond the record: where it is listed, and its conversation.
OPENS = frozenset({OTHER_ACCOUNT, OTHER_INSTALL, CONVERSATION_MISSING, TRANSCRIPT_IN_SANDBOX, SANDBOX_COPIES_DIFFER,
                   LINK_DANGLING, STUB_SHADOWS, STUB_ONLY, SSH_MIRROR_MISSING, SSH_HOST_FAILING, TRANSCRIPT_ID_MISMATCH,
                   TRUST_OTHER_SPELLING, HIDES_LIST})

# The codes that leave a session loadable: they inform, they do not condemn.
INFORMATIONAL = frozenset({TMP_LEFTOVER, TMP_UNLOADABLE, INVALID_UTF8, NO_RECORD, LINK_PROPOSED,
                           OTHER_ACCOUNT, SSH_HOST_FAILING, TRANSCRIPT_ID_MISMATCH, TRUST_OTHER_SPELLING, STUB})


def describe(code: str) -> str:
    return DESCRIPTIONS.get(code, code)
