"""How much does judging a session cost over merely reading it?

Generates 10,000 sessions (records shaped like the app's, one in five with a
``.tmp`` beside it, as on an MSIX install), then times in the same run:

* scan     - ``app.core.scan.scan`` over the folder: every file opened safely,
             parsed as JSON.parse would, checked, grouped and classified;
* baseline - a bare loop over the same files: ``os.scandir``, read,
             ``json.loads``.

Each is run several times, in turn, and the best time is kept (the machine is shared).
The goal is a ratio of 1.5 or less.  With ``--transcripts``, each session also
has its conversation where Claude Desktop looks, so the scan follows each one
to it (does it open?); the baseline stays the bare loop over the records.

    python benchmarks/bench_scan.py [--sessions N] [--repeat R] [--transcripts]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generate import generate  # noqa: E402

from app.core import locations  # noqa: E402
from app.core.scan import scan  # noqa: E402


def bare_loop(root: Path) -> int:
    n = 0
    for account in os.scandir(root / "claude-code-sessions"):
        for org in os.scandir(account.path):
            for entry in os.scandir(org.path):
                with open(entry.path, "rb") as f:
                    json.loads(f.read())
                n += 1
    return n


def interleaved(repeat: int, *fns):
    """Best time of each function, running them in turn so that a slow moment
    of this shared machine falls on both alike."""
    best = [float("inf")] * len(fns)
    outs: list[object] = [None] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            outs[i] = fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best, outs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--transcripts", action="store_true", help="give each session its conversation")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as tmp:
        root = Path(tmp)
        projects = root / "projects" if args.transcripts else root / "no-transcripts"
        generate(root, args.sessions, orphan_every=5, projects=projects if args.transcripts else None)
        data_dir = locations.chosen(root)
        bare_loop(root)  # warm the page cache once, for both
        (t_scan, t_bare), (result, files) = interleaved(
            args.repeat, lambda: scan([data_dir], projects), lambda: bare_loop(root))
        assert len(result.sessions) == args.sessions == files, (len(result.sessions), files)
    print(f"sessions: {args.sessions:,} (best of {args.repeat})"
          + (", each with its conversation" if args.transcripts else ", no transcripts folder"))
    print(f"scan:     {t_scan:.3f} s")
    print(f"baseline: {t_bare:.3f} s  (os.scandir + read + json.loads)")
    print(f"ratio:    {t_scan / t_bare:.2f}  (goal <= 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
