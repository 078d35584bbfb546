"""Sessions for the benchmarks: records shaped like the app's, in one folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.demo import record  # noqa: E402


def generate(root: Path, count: int, orphan_every: int) -> Path:
    """``count`` sessions in ``root``'s one org folder; every ``orphan_every``-th
    is only a ``.tmp`` (1: all of them), as the MSIX rename bug leaves them."""
    org = root / "claude-code-sessions" / "acct" / "org"
    org.mkdir(parents=True)
    for i in range(count):
        rec = record(f"bench-{i}", f"Session number {i}: fix the thing", f"C:\\Users\\ana\\repo{i % 50}",
                     hours_ago=i / 10, turns=i % 40)
        suffix = ".json.tmp" if i % orphan_every == 0 else ".json"
        (org / (rec["sessionId"] + suffix)).write_bytes(json.dumps(rec, separators=(",", ":")).encode())
    return org
