"""A sample Claude Desktop data folder that shows every status and every reason.

It is what the app opens when no Claude data is found, what the README's
screenshot shows, and what the tests and benchmarks start from.  It is built
in code rather than shipped as files, because a link or a zero-filled record
does not survive being packed into a wheel or an executable.

``unreadable`` and ``too-large`` are the two reasons it cannot hold: an
administrator reads any file, and the smallest too-large record is 1.6 GB.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from app.core.locations import OWN_TRANSCRIPTS, SESSIONS_FOLDER

ACTIVE_ACCOUNT = "7f3c2a9e-5b1d-4c8e-9a26-3e0f4d6b8c21"
ACTIVE_ORG = "0d9e4f7a-2c31-4b5a-8e6f-1a2b3c4d5e6f"
OTHER_ACCOUNT = "b21e6c4d-8f0a-4e3b-9c5d-7a6b5c4d3e2f"
OTHER_ORG = "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f"

_BASE_MS = int(datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc).timestamp() * 1000)
_HOUR = 3_600_000
_NS = uuid.UUID("6c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5")


@dataclass
class DemoInfo:
    path: Path
    transcripts: Path
    sessions: int = 0
    skipped: list[str] = field(default_factory=list)  # what this OS would not let us create


def session_id(name: str) -> str:
    return f"local_{uuid.uuid5(_NS, name)}"


def cli_id(name: str) -> str:
    return str(uuid.uuid5(_NS, "cli:" + name))


def record(name: str, title: str, cwd: str, hours_ago: float, *, turns: int = 3,
           model: str = "claude-opus-5", duration_h: float = 0.5, **extra: Any) -> dict[str, Any]:
    """A record shaped like one the app writes (storage reference §2)."""
    last = _BASE_MS - int(hours_ago * _HOUR)
    created = last - int(duration_h * _HOUR)
    rec: dict[str, Any] = {
        "sessionId": session_id(name), "cliSessionId": cli_id(name), "cwd": cwd, "originCwd": cwd,
        "createdAt": created, "lastActivityAt": last, "lastFocusedAt": last + 30_000,
        "title": title, "titleSource": "auto", "isArchived": False, "completedTurns": turns,
        "model": model, "effort": "high", "permissionMode": "acceptEdits",
        "chromePermissionMode": "skip_all_permission_checks", "remoteMcpServersConfig": [],
        "alwaysAllowedReasons": [], "sessionPermissionUpdates": [], "spawnSeed": {},
        "classifierSummaryEnabled": True, "lastSpawnRootDetected": False,
        "remoteControlAutoEligible": False, "reportFindingsCard": True,
    }
    rec.update(extra)
    return rec


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


SHOP = "C:\\Users\\ana\\repos\\shop"
DOCS = "C:\\Users\\ana\\repos\\handbook"
API = "D:\\work\\billing-api"


def _active_sessions() -> list[tuple[str, dict[str, bytes]]]:
    """(name, {file suffix: bytes}) for the active account's sessions."""
    r = record
    out: list[tuple[str, dict[str, bytes]]] = []

    def add(name: str, **files: bytes) -> None:
        out.append((name, {".json" if k == "json" else ".json.tmp": v for k, v in files.items()}))

    # healthy
    add("checkout", json=_dump(r("checkout", "Fix flaky checkout test", SHOP, 2, turns=7)))
    iso = r("darkmode", "Add dark mode toggle", SHOP, 5, turns=4)
    iso["createdAt"], iso["lastActivityAt"] = "2026-11-20T02:30:00.000Z", "2026-11-20T04:00:00.000Z"
    add("darkmode", json=_dump(iso))
    add("release", json=_dump(r("release", "Write release notes for 2.4", DOCS, 9)),
        tmp=_dump(r("release", "Write release notes for 2.4", DOCS, 12)))
    add("profile", json=_dump(r("profile", "Profile slow search endpoint", API, 20)), tmp=b"\0" * 4096)
    add("translate", json=_dump(r("translate", "Translate README (français, ß)", DOCS, 30))
        .replace("ß".encode(), "ß".encode() + b" \xff"))
    # orphaned: the EXDEV rename left only the .tmp
    add("payment", tmp=_dump(r("payment", "Refactor payment module", API, 1, turns=12)))
    add("leak", tmp=_dump(r("leak", "Investigate memory leak in worker", API, 3, turns=9)))
    add("react", tmp=_dump(r("react", "Upgrade to React 19", SHOP, 26, turns=21)))
    add("csv", json=_dump(r("csv", "Add CSV export", API, 40, turns=2)),
        tmp=_dump(r("csv", "Add CSV export", API, 7, turns=6)))
    add("precommit", json=b"\0" * 2048, tmp=_dump(r("precommit", "Set up pre-commit hooks", SHOP, 50)))
    cut = _dump(r("apidocs", "Draft API docs", API, 60))
    add("apidocs", json=cut[: len(cut) // 2], tmp=cut)
    # corrupt: no copy the app will load
    add("wiped", json=b"\0" * 144_258)  # the size of the zero-filled record in cc#59811
    add("postgres", json=b"\xef\xbb\xbf" + _dump(r("postgres", "Migrate database to Postgres 17", API, 70)))
    add("review", json=_dump(r("review", "Review pull request #212", SHOP, 80, lastActivityAt=None,
                                cliSessionId=None)))
    add("backoff", json=_dump(r("backoff", "Tune retry backoff", API, 90)).replace(b'"completedTurns":3',
                                                                                  b'"completedTurns":NaN'))
    add("array", json=b'[{"sessionId":"' + session_id("array").encode() + b'"}]')
    add("copy", json=_dump(r("copy", "Copy of onboarding flow", SHOP, 100, sessionId=session_id("checkout"))))
    add("tuesday", json=_dump(r("tuesday", "Plan sprint 48", DOCS, 110, createdAt="last Tuesday")))
    half = _dump(r("halfway", "Speed up test suite", SHOP, 120))
    add("halfway", json=half[: half.index(b'"model"') + 12])
    add("empty", json=b"")
    add("binary", json=b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)))
    add("comma", json=_dump(r("comma", "Fix login redirect", SHOP, 130))[:-1] + b",}")
    add("deleted", tmp=_dump(r("deleted", "Old experiment (deleted)", SHOP, 140)))
    return out


def write_demo(folder: str | os.PathLike[str]) -> DemoInfo:
    """Write the demo data folder at ``folder``, which must be new or empty."""
    root = Path(folder)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise FileExistsError(f"{root} is not empty; choose a new or empty folder for the demo data")
    info = DemoInfo(root, root / OWN_TRANSCRIPTS)  # the demo carries its own transcripts
    active = root / SESSIONS_FOLDER / ACTIVE_ACCOUNT / ACTIVE_ORG
    other = root / SESSIONS_FOLDER / OTHER_ACCOUNT / OTHER_ORG
    for d in (active, other, info.transcripts, root / "logs"):
        d.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_bytes(_dump({"lastKnownAccountUuid": ACTIVE_ACCOUNT, "locale": "en-US"}))

    for name, files in _active_sessions():
        for suffix, data in files.items():
            (active / (session_id(name) + suffix)).write_bytes(data)
        info.sessions += 1
    # A session deleted in the app: both tombstones, content = the delete time.
    stamp = str(_BASE_MS - 139 * _HOUR).encode()
    (active / f"deleted_{session_id('deleted')}").write_bytes(stamp)
    (active / f"deleted_{cli_id('deleted')}").write_bytes(stamp)
    # Files that are not sessions, and must never be listed as sessions.
    (active / f"deleted_{session_id('long-gone')}").write_bytes(stamp)
    (active / "scheduled-tasks.json").write_bytes(b'{"tasks":[]}')
    (active / "desktop.ini").write_bytes(b"[.ShellClassInfo]\r\n")
    (active / "local_not-a-session.json").mkdir()
    # Links: one out of the data folder (never followed), one to nothing.
    for name, target in (("outside", "../../../../outside-the-data-folder/local_record.json"),
                         ("dangling", "local_missing-target.json")):
        try:
            os.symlink(target, active / f"{session_id(name)}.json")
            info.sessions += 1
        except (OSError, NotImplementedError) as exc:  # Windows without the symlink privilege
            info.skipped.append(f"link {name}: {exc}")

    # Another account the app is not signed in to.
    ci = _other_account_record("ci", "Migrate CI to GitHub Actions", 15)
    webgpu = _other_account_record("webgpu", "Spike: WebGPU renderer", 33)
    (other / f"{session_id('ci')}.json").write_bytes(_dump(ci))
    (other / f"{session_id('webgpu')}.json.tmp").write_bytes(_dump(webgpu))
    info.sessions += 2

    _write_transcripts(info.transcripts)
    (root / "logs" / "main.log").write_text(_main_log(), encoding="utf-8")
    return info


def _other_account_record(name: str, title: str, hours_ago: float) -> dict[str, Any]:
    return record(name, title, "C:\\Users\\ana\\side-projects\\" + name, hours_ago, model="claude-sonnet-5")


def _write_transcripts(projects: Path) -> None:
    for name, cwd, title in (("checkout", SHOP, "Fix flaky checkout test"),
                             ("darkmode", SHOP, "Add dark mode toggle"),
                             ("payment", API, "Refactor payment module"),
                             ("ci", "C:\\Users\\ana\\side-projects\\ci", "Migrate CI to GitHub Actions")):
        slug = "".join(c if c.isalnum() else "-" for c in cwd)
        folder = projects / slug
        folder.mkdir(parents=True, exist_ok=True)
        sid = cli_id(name)
        lines = [
            {"type": "user", "uuid": f"{sid}-1", "parentUuid": None, "sessionId": sid, "cwd": cwd,
             "timestamp": "2026-11-20T07:00:00.000Z", "isSidechain": False,
             "message": {"role": "user", "content": f"{title}, please."}},
            {"type": "assistant", "uuid": f"{sid}-2", "parentUuid": f"{sid}-1", "sessionId": sid, "cwd": cwd,
             "timestamp": "2026-11-20T07:00:05.000Z", "isSidechain": False,
             "message": {"role": "assistant", "model": "claude-opus-5",
                         "content": [{"type": "text", "text": "On it. Let me look at the code first."}]}},
        ]
        (folder / f"{sid}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
        (folder / f"agent-{sid[:8]}.jsonl").write_text(json.dumps(lines[0]) + "\n", encoding="utf-8")


def _main_log() -> str:
    sid = session_id("payment")
    path = f"C:\\Users\\ana\\AppData\\Roaming\\Claude\\{SESSIONS_FOLDER}\\{ACTIVE_ACCOUNT}\\{ACTIVE_ORG}\\{sid}"
    return (f"2026-11-19 18:02:11 [info] Loaded 9 persisted sessions from {ACTIVE_ACCOUNT}/{ACTIVE_ORG}\n"
            f"2026-11-20 08:00:03 [error] Failed to save session {sid}: EXDEV: cross-device link not "
            f"permitted, rename '{path}.json.tmp' -> '{path}.json'\n")
