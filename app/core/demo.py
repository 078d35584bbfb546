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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.core.locations import DEMO_MARKER, OWN_TRANSCRIPTS, SESSIONS_FOLDER

ACTIVE_ACCOUNT = "7f3c2a9e-5b1d-4c8e-9a26-3e0f4d6b8c21"
ACTIVE_ORG = "0d9e4f7a-2c31-4b5a-8e6f-1a2b3c4d5e6f"
OTHER_ACCOUNT = "b21e6c4d-8f0a-4e3b-9c5d-7a6b5c4d3e2f"
OTHER_ORG = "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f"

_BASE_MS = int(datetime(2026, 11, 20, 9, 0, tzinfo=UTC).timestamp() * 1000)
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
                                cliSessionId=None, turns=0)))
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
    # healthy, but its link to the transcript is gone (class H): the app nulled
    # cliSessionId and set transcriptUnavailable; its transcript is on disk.
    add("onboard", json=_dump(r("onboard", "Redesign onboarding emails", DOCS, 44, turns=2, cliSessionId=None,
                                transcriptUnavailable=True)))
    out += _sessions_that_do_not_open()
    return out


def _sessions_that_do_not_open() -> list[tuple[str, dict[str, bytes]]]:
    """Records that load and are listed, yet do not open (failures reference, O to V)."""
    r = record
    out: list[tuple[str, dict[str, bytes]]] = []

    def add(name: str, json: bytes) -> None:
        out.append((name, {".json": json}))

    # O: the conversation is in the old per-session sandbox only
    add("sandbox", json=_dump(r("sandbox", "Sketch the invoice PDF layout", API, 150, turns=5)))
    # Q: cliSessionId names no file; one transcript of the same folder and times is there
    add("rates", json=_dump(r("rates", "Cache exchange rates", API, 160, turns=3,
                              cliSessionId=cli_id("rates-gone"))))
    # T: an empty stub with its id, in another project folder, may be opened instead
    add("shadowed", json=_dump(r("shadowed", "Split the monorepo", SHOP, 170, turns=6)))
    # V: its transcript holds no conversation at all
    add("stubonly", json=_dump(r("stubonly", "Try the new linter", SHOP, 180, turns=2)))
    # R: an SSH session whose local mirror is missing; S: the log shows its host failing
    add("ssh", json=_dump(r("ssh", "Tune the build server", "/srv/builds", 190, turns=8,
                            sshConfig={"sshHost": "ana@build-01", "id": "build-01", "source": "user"})))
    # healthy with no conversation yet: a new session needs none
    add("fresh", json=_dump(r("fresh", "New session", DOCS, 0.5, turns=0, cliSessionId=None)))
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
    (root / DEMO_MARKER).write_text("Demo data written by Session Rescue. Changes made to it are backed up in "
                                    "session-rescue-backups, inside this folder, and go when it goes.\n",
                                    encoding="utf-8")

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
    _write_sandbox(root)
    (root / "logs" / "main.log").write_text(_main_log(), encoding="utf-8")
    return info


def _other_account_record(name: str, title: str, hours_ago: float) -> dict[str, Any]:
    return record(name, title, "C:\\Users\\ana\\side-projects\\" + name, hours_ago, model="claude-sonnet-5")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def conversation(sid: str, cwd: str, request: str, start_ms: int, end_ms: int, turns: int = 2,
                 model: str = "claude-opus-5") -> list[dict[str, Any]]:
    """Transcript lines shaped like Claude Code's (storage reference §7): each
    turn a request, a tool call, its result and an answer."""
    lines: list[dict[str, Any]] = []
    step = (end_ms - start_ms) // max(1, turns * 4 - 1)
    moment, parent = start_ms, None

    def add(kind: str, content: Any, **extra: Any) -> None:
        nonlocal moment, parent
        uid = f"{sid[:8]}-{len(lines):04d}"
        message: dict[str, Any] = {"role": kind, "content": content}
        if kind == "assistant":
            message["model"] = model
        lines.append({"parentUuid": parent, "isSidechain": False, "userType": "external", "cwd": cwd,
                      "sessionId": sid, "version": "2.3.1", "gitBranch": "main", "type": kind,
                      "message": message, "uuid": uid, "timestamp": _iso(moment), **extra})
        parent, moment = uid, moment + step

    for turn in range(turns):
        add("user", request if turn == 0 else f"Thanks. Now step {turn + 1}, please.")
        tool = f"toolu_{sid[:8]}_{turn}"
        add("assistant", [{"type": "text", "text": "Let me look at the code first."},
                          {"type": "tool_use", "id": tool, "name": "Bash",
                           "input": {"command": "git status --short && ls"}}])
        add("user", [{"type": "tool_result", "tool_use_id": tool,
                      "content": " M src/app.py\n?? notes.md\nREADME.md\nsrc\ntests"}])
        add("assistant", [{"type": "text", "text": f"Done with step {turn + 1}. The change is in src/app.py, "
                                                  "and the tests pass."}])
    return lines


def _write_transcript(projects: Path, sid: str, cwd: str, lines: list[dict[str, Any]]) -> Path:
    folder = projects / "".join(c if c.isalnum() else "-" for c in cwd)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sid}.jsonl"
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    return path


def _span(hours_ago: float, duration_h: float = 0.5) -> tuple[int, int]:
    last = _BASE_MS - int(hours_ago * _HOUR)
    return last - int(duration_h * _HOUR), last


def _write_transcripts(projects: Path) -> None:
    for name, cwd, title, hours_ago in (("checkout", SHOP, "Fix flaky checkout test", 2),
                                        ("darkmode", SHOP, "Add dark mode toggle", 5),
                                        ("payment", API, "Refactor payment module", 1),
                                        ("ci", "C:\\Users\\ana\\side-projects\\ci",
                                         "Migrate CI to GitHub Actions", 15),
                                        ("deleted", SHOP, "Old experiment (deleted)", 140)):
        sid = cli_id(name)
        start, end = _span(hours_ago)
        lines = conversation(sid, cwd, f"{title}, please.", start + 20_000, end - 5_000)
        path = _write_transcript(projects, sid, cwd, lines)
        (path.parent / f"agent-{sid[:8]}.jsonl").write_text(json.dumps(lines[0]) + "\n", encoding="utf-8")
    # The conversations of the other records, where Claude Desktop looks.
    for name, cwd, title, hours_ago in (("release", DOCS, "Write release notes for 2.4", 9),
                                        ("profile", API, "Profile slow search endpoint", 20),
                                        ("translate", DOCS, "Translate README", 30),
                                        ("leak", API, "Investigate memory leak in worker", 3),
                                        ("react", SHOP, "Upgrade to React 19", 26), ("csv", API, "Add CSV export", 7),
                                        ("precommit", SHOP, "Set up pre-commit hooks", 50),
                                        ("apidocs", API, "Draft API docs", 60),
                                        ("postgres", API, "Migrate database to Postgres 17", 70),
                                        ("tuesday", DOCS, "Plan sprint 48", 110),
                                        ("webgpu", "C:\\Users\\ana\\side-projects\\webgpu",
                                         "Spike: WebGPU renderer", 33),
                                        ("shadowed", "C:\\Users\\ana\\repos\\shop-split",
                                         "Split the monorepo", 170)):
        start, end = _span(hours_ago)
        _write_transcript(projects, cli_id(name), cwd, conversation(cli_id(name), cwd, f"{title}, please.",
                                                                   start + 20_000, end - 5_000))
    _write_lost_classes(projects)


def _write_lost_classes(projects: Path) -> None:
    """Transcripts for the classes a record alone does not show."""
    # class H: the transcript of "onboard", whose record lost its link
    start, end = _span(44)
    _write_transcript(projects, cli_id("onboard"), DOCS,
                      conversation(cli_id("onboard"), DOCS, "Redesign onboarding emails", start + 15_000, end))
    # class F: the record was wiped (a reinstall); the transcript, renamed with /rename, remains
    sid = cli_id("search")
    start, end = _span(8, 1.5)
    lines = conversation(sid, API, "Add full-text search to the orders endpoint", start, end, turns=4)
    lines.append({"type": "custom-title", "customTitle": "Full-text search for orders", "sessionId": sid})
    _write_transcript(projects, sid, API, lines)
    # class G: a session started in the terminal, never in the app's sidebar
    sid = cli_id("cli-bench")
    start, end = _span(52, 0.75)
    lines = [{"type": "summary", "summary": "Benchmark JSON parsers", "leafUuid": f"{sid[:8]}-0003"}]
    lines += conversation(sid, "/home/ana/bench", "Which JSON parser is fastest for our logs?", start, end,
                          model="claude-sonnet-5")
    _write_transcript(projects, sid, "/home/ana/bench", lines)
    # not a session: a file with no conversation in it (class V), listed as a stub
    path = _write_transcript(projects, cli_id("snapshot-only"), SHOP,
                             [{"type": "file-history-snapshot", "messageId": "x", "snapshot": {}}])
    os.utime(path, (_BASE_MS / 1000 - 3 * 86_400, _BASE_MS / 1000 - 3 * 86_400))
    # class Q: the real conversation of "rates", under another id, in the same folder and times
    start, end = _span(160)
    _write_transcript(projects, cli_id("rates"), API,
                      conversation(cli_id("rates"), API, "Cache exchange rates, please.", start + 20_000,
                                   end - 5_000, turns=3))
    # class T: a stub with "shadowed"'s id in the folder it started in; the
    # real one is where /cd took it (written above)
    _write_stub(projects, cli_id("shadowed"), SHOP, "Split the monorepo")
    # class V: the only transcript of "stubonly" holds no conversation
    _write_stub(projects, cli_id("stubonly"), SHOP, "Try the new linter")
    # class T2: a transcript whose lines name another session (sync damage)
    sid = cli_id("translate")
    path = projects / _slug(DOCS) / f"{sid}.jsonl"
    path.write_text(path.read_text(encoding="utf-8").replace(sid, cli_id("translate-elsewhere")), encoding="utf-8")


def _write_stub(projects: Path, sid: str, cwd: str, title: str) -> None:
    _write_transcript(projects, sid, cwd, [{"type": "custom-title", "customTitle": title, "sessionId": sid},
                                           {"type": "mode", "mode": "plan", "sessionId": sid}])
    os.utime(projects / _slug(cwd) / f"{sid}.jsonl", (_BASE_MS / 1000 - 86_400, _BASE_MS / 1000 - 86_400))


def _slug(cwd: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in cwd)


def _write_sandbox(root: Path) -> None:
    """Class O: an older session's conversation, in its per-session sandbox."""
    sid, cwd = cli_id("sandbox"), API
    start, end = _span(150)
    projects = root / "local-agent-mode-sessions" / ACTIVE_ORG / "space-1" / session_id("sandbox") / ".claude" / \
        "projects"
    path = _write_transcript(projects, sid, cwd, conversation(sid, cwd, "Sketch the invoice PDF layout, please.",
                                                             start + 20_000, end - 5_000, turns=5))
    sidecar = path.parent / sid / "tool-results"
    sidecar.mkdir(parents=True)
    (sidecar / "toolu_1.txt").write_text("a large tool output, kept beside the transcript\n", encoding="utf-8")


def _main_log() -> str:
    folder = f"C:\\Users\\ana\\AppData\\Roaming\\Claude\\{SESSIONS_FOLDER}\\{ACTIVE_ACCOUNT}\\{ACTIVE_ORG}"
    lines = [f"2026-11-02 09:14:55 [info] Loaded 9 persisted sessions from {folder}"]
    # The MSIX rename bug, as it shows in the log (storage reference §3).
    for day, clock, name in (("2026-11-02", "09:20:13", "react"), ("2026-11-09", "16:41:02", "csv"),
                             ("2026-11-17", "11:05:37", "leak"), ("2026-11-20", "08:00:03", "payment"),
                             ("2026-11-20", "08:00:41", "payment")):
        path = f"{folder}\\{session_id(name)}"
        lines.append(f"{day} {clock} [error] Failed to save session {session_id(name)}: EXDEV: cross-device "
                     f"link not permitted, rename '{path}.json.tmp' -> '{path}.json'")
    lines.append(f"2026-11-20 08:00:50 [error] EXDEV: cross-device link not permitted, rename "
                 f"'{folder}\\manifest.json.tmp' -> '{folder}\\manifest.json'")
    # Class S: the SSH session's host, failing (failures reference §R, cc#72335).
    for clock in ("08:01:10", "08:01:52"):
        lines.append(f"2026-11-20 {clock} [warn] [SSH] Failed to tail remote transcript: ana@build-01: "
                     "Permission denied (publickey,password).")
    return "\n".join(lines) + "\n"
