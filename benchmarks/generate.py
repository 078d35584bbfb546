"""Sessions for the benchmarks: records shaped like the app's, in one folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.demo import record  # noqa: E402


def generate(root: Path, count: int, orphan_every: int, projects: Path | None = None) -> Path:
    """``count`` sessions in ``root``'s one org folder; every ``orphan_every``-th
    is only a ``.tmp`` (1: all of them), as the MSIX rename bug leaves them.
    With ``projects``, each session's conversation too, where Claude looks
    for it (a few lines: what is measured is finding and judging it)."""
    org = root / "claude-code-sessions" / "acct" / "org"
    org.mkdir(parents=True)
    for i in range(count):
        cwd = f"C:\\Users\\ana\\repo{i % 50}"
        rec = record(f"bench-{i}", f"Session number {i}: fix the thing", cwd, hours_ago=i / 10, turns=i % 40)
        suffix = ".json.tmp" if i % orphan_every == 0 else ".json"
        (org / (rec["sessionId"] + suffix)).write_bytes(json.dumps(rec, separators=(",", ":")).encode())
        if projects is not None:
            _conversation(projects, rec)
    return org


def _conversation(projects: Path, rec: dict) -> None:
    cli, cwd = rec["cliSessionId"], rec["cwd"]
    folder = projects / "".join(c if c.isalnum() else "-" for c in cwd)
    folder.mkdir(parents=True, exist_ok=True)
    lines = [{"type": "user", "sessionId": cli, "cwd": cwd, "timestamp": "2026-11-20T08:00:00.000Z",
              "message": {"role": "user", "content": "Fix the thing, please."}},
             {"type": "assistant", "sessionId": cli, "cwd": cwd, "timestamp": "2026-11-20T08:00:05.000Z",
              "message": {"role": "assistant", "model": "claude-opus-5",
                          "content": [{"type": "text", "text": "Done."}]}}]
    (folder / f"{cli}.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
