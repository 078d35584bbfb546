"""The whole process, as a user runs it: ``scan --json``, ``scan`` and
``repair -y`` against a bare process doing the least the same job needs.

For each session count (1,000, 10,000 and 100,000 by default) it generates a
data folder (one in five sessions only a ``.tmp``, as on an MSIX install) and
times, in the same run, best of ``--repeat`` rounds taken in turn:

* ``session-rescue scan --json``  against a bare Python process that walks the
  folder, reads and ``json.loads`` each file, and prints one JSON document with
  an entry per file through the C encoder;
* ``session-rescue scan`` (the table) against the same bare process;
* ``session-rescue repair -y`` of that many orphans (every session only a
  ``.tmp``; each round on a fresh copy, not timed), backups, fsync and verify
  included, against a bare process doing ``shutil.copy2`` + ``os.fsync`` per
  file.  Above ``--repair-max`` sessions (10,000) the repair is not timed: a
  hundred thousand fsyncs measure the disk, not the program.

For reference it also times ``scan`` with nothing written (a process that
imports the scan and runs it: every record read, checked as Claude's loader
reads it and judged, and no output): whatever the output costs, neither
``scan`` nor ``scan --json`` can be faster than that, so its ratio is the
floor of theirs.

It also prints the peak RSS of ``scan`` at the largest count (goal: 300 MB or
less), the scan times per count (they should grow linearly: the time per
1,000 sessions stays about the same), and each ratio last.  The processes
run in a PID namespace of their own where they can (``unshare``, as root), so
that a Claude Desktop stand-in elsewhere on the machine does not stop the
repair.

    python benchmarks/bench_cli.py [--sessions 1000 10000 100000] [--repeat 3] [--repair-max 10000]
                                   [--repair-only]

``--repair-only`` times ``repair -y`` alone (no scans, no peak RSS).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generate import generate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GOALS = {"scan --json": 1.5, "scan": 1.5, "repair -y": 1.6}

BARE_SCAN = r"""
import json, os, sys
root = sys.argv[1]
entries = []
for account in os.scandir(os.path.join(root, "claude-code-sessions")):
    for org in os.scandir(account.path):
        for entry in os.scandir(org.path):
            with open(entry.path, "rb") as f:
                record = json.loads(f.read())
            entries.append({"path": entry.path, "id": record.get("sessionId"), "title": record.get("title")})
sys.stdout.write(json.dumps({"sessions": entries}) + "\n")
"""

# The scan and nothing else: what scan --json costs before its first byte.
SILENT_SCAN = r"""
import sys
from pathlib import Path
from app.core import locations
from app.core.scan import scan
scan([locations.chosen(sys.argv[1])], Path(sys.argv[2]))
"""

BARE_REPAIR = r"""
import os, shutil, sys
org = sys.argv[1]
for entry in list(os.scandir(org)):
    target = entry.path[: -len(".tmp")]
    shutil.copy2(entry.path, target)
    fd = os.open(target, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
"""


def own_pids() -> list[str]:
    unshare = shutil.which("unshare")
    if unshare and os.geteuid() == 0:
        probe = subprocess.run([unshare, "--pid", "--fork", "--mount-proc", "true"], capture_output=True)
        if probe.returncode == 0:
            return [unshare, "--pid", "--fork", "--mount-proc"]
    return []


def timed(command: list[str]) -> tuple[float, int]:
    """Wall time of one process, and its peak RSS in KB (from wait4, this child alone)."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {proc.returncode}: {err.strip()}")
    return took, usage.ru_maxrss


def app(*args: str) -> list[str]:
    return [sys.executable, "-m", "app", *args]


def bench_size(count: int, repeat: int, repair_max: int, ns: list[str], tmp: Path,
               repair_only: bool = False) -> dict[str, tuple]:
    if repair_only:
        return {"repair -y": bench_repair(count, repeat, ns, tmp)}
    data = tmp / f"scan-{count}"
    generate(data, count, orphan_every=5)
    scan_json = app("scan", "--json", "--data-dir", str(data), "--projects-dir", str(tmp / "none"))
    scan_table = app("scan", "--data-dir", str(data), "--projects-dir", str(tmp / "none"))
    bare = [sys.executable, "-c", BARE_SCAN, str(data)]
    silent = [sys.executable, "-c", SILENT_SCAN, str(data), str(tmp / "none")]
    (tmp / "none").mkdir(exist_ok=True)
    timed(bare)  # the page cache, warm for all alike
    best: dict[str, float] = {}
    peak = 0
    for _ in range(repeat):
        for name, command in (("scan --json", scan_json), ("scan", scan_table), ("bare scan", bare),
                              ("silent scan", silent)):
            took, rss = timed(command)
            best[name] = min(best.get(name, float("inf")), took)
            if name.startswith("scan"):
                peak = max(peak, rss)
    out = {"scan --json": (best["scan --json"], best["bare scan"]), "scan": (best["scan"], best["bare scan"]),
           "peak_rss_kb": (peak,), "silent scan": (best["silent scan"], best["bare scan"])}
    shutil.rmtree(data)
    if count <= repair_max:
        out["repair -y"] = bench_repair(count, repeat, ns, tmp)
    return out


def bench_repair(count: int, repeat: int, ns: list[str], tmp: Path) -> tuple[float, float]:
    source = tmp / f"orphans-{count}"
    generate(source, count, orphan_every=1)
    (tmp / "none").mkdir(exist_ok=True)
    best_repair = best_bare = float("inf")
    for round_ in range(repeat):
        for name in ("repair", "bare"):
            work = tmp / f"work-{count}-{round_}-{name}"
            shutil.copytree(source, work)
            org = work / "claude-code-sessions" / "acct" / "org"
            if name == "repair":
                command = [*ns, *app("repair", "-y", "--data-dir", str(work), "--projects-dir", str(tmp / "none"),
                                     "--backup-dir", str(tmp / f"backups-{count}-{round_}"))]
                if not ns:
                    command.append("--ignore-running")
                took, _ = timed(command)
                best_repair = min(best_repair, took)
            else:
                took, _ = timed([*ns, sys.executable, "-c", BARE_REPAIR, str(org)])
                best_bare = min(best_bare, took)
            shutil.rmtree(work)
            shutil.rmtree(tmp / f"backups-{count}-{round_}", ignore_errors=True)
    shutil.rmtree(source)
    return best_repair, best_bare


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--repair-max", type=int, default=10_000)
    parser.add_argument("--repair-only", action="store_true", help="time repair -y alone")
    args = parser.parse_args()
    ns = own_pids()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-cli-", dir=os.environ.get("BENCH_DIR")) as tmp:
        for count in args.sessions:
            results[count] = bench_size(count, args.repeat, args.repair_max, ns, Path(tmp), args.repair_only)
            print(f"{count:>7,} sessions: " + "  ".join(
                f"{name} {pair[0]:.2f} s (bare {pair[1]:.2f} s)" for name, pair in results[count].items()
                if name in GOALS), flush=True)
    print(f"\nbest of {args.repeat}; whole processes{'; in their own PID namespace' if ns else ''}")
    if not args.repair_only:
        print_scans(args.sessions, results)
        print("floor (scan with nothing written; no output can bring scan or scan --json below it): " + ", ".join(
            f"{count:,}: {results[count]['silent scan'][0] / results[count]['silent scan'][1]:.2f}"
            for count in args.sessions))
    for count in args.sessions:
        for name, goal in GOALS.items():
            if name in results[count]:
                ours, bare = results[count][name]
                ratio = ours / bare
                verdict = "met" if ratio <= goal else "NOT met"
                print(f"ratio {name:12} {count:>7,}: {ratio:.2f}  (goal <= {goal})  {verdict}")
    return 0


def print_scans(sessions: list[int], results: dict[int, dict[str, tuple]]) -> None:
    print("scan time per 1,000 sessions (linear growth keeps it flat): " + ", ".join(
        f"{count:,}: {results[count]['scan'][0] / count * 1000:.3f} s" for count in sessions))
    largest = max(sessions)
    peak_mb = results[largest]["peak_rss_kb"][0] / 1024
    print(f"peak RSS of scan at {largest:,} sessions: {peak_mb:.0f} MB (goal <= 300 MB)"
          f"  {'met' if peak_mb <= 300 else 'NOT met'}")


if __name__ == "__main__":
    sys.exit(main())
