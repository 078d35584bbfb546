"""What does finding the transcripts without records cost, against reading them?

Generates 2,000 Claude Code transcripts totalling about 5 GB (sizes from a few
KB to about 100 MB, shaped like real ones: a request, tool calls with large
results, answers, a title at the end), none of them referenced by a record,
so that every one must be indexed (a reinstall that wiped the records).
Then measures, in the same run:

* index    - ``app.core.scan.scan`` over an empty data folder with those
             transcripts: each one found, read at its head and tail
             (``transcripts.read_info``), and listed as transcript-only;
* baseline - a bare loop reading every byte of every transcript, 1 MB at a
             time, parsing nothing: the least any full-read indexer must do.

Each is measured cold (the files evicted from the page cache with
posix_fadvise first, as on the first scan after a reboot) and warm.  Bytes
read are counted by the kernel (``rchar`` in /proc/self/io) where it tells.

    python benchmarks/bench_transcripts.py [--count N] [--total-gb G] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core import locations  # noqa: E402
from app.core.demo import conversation  # noqa: E402
from app.core.scan import scan  # noqa: E402

T0 = 1_780_000_000_000


def _sizes(count: int, total: int, rng: random.Random) -> list[int]:
    """Heavy-tailed sizes, as users have: most transcripts small, a few huge."""
    raw = [rng.paretovariate(1.1) for _ in range(count)]
    low, high = 8_000, 120 << 20
    scale = total / sum(raw)
    for _ in range(20):  # the cap cuts the biggest: scale the rest up until the total is met
        sizes = [max(low, min(int(r * scale), high)) for r in raw]
        if sum(sizes) >= total * 0.99:
            break
        scale *= total / sum(sizes)
    return sizes


def generate(folder: Path, count: int, total: int) -> int:
    rng = random.Random(2026)
    projects = folder / "projects"
    written = 0
    filler_text = ("line of tool output " * 40 + "\n") * 120  # ~100 KB, like a test run's output
    for i, size in enumerate(_sizes(count, total, rng)):
        sid = f"{i:08x}-0000-4000-8000-{rng.getrandbits(48):012x}"
        cwd = f"C:\\Users\\ana\\repos\\project{i % 60}"
        start = T0 + i * 3_600_000
        head = conversation(sid, cwd, f"Task {i}: make the thing faster", start, start + 60_000, turns=2)
        tail = conversation(sid, cwd, f"Follow-up {i}", start + 3_000_000, start + 3_500_000, turns=1,
                            model="claude-sonnet-5")
        tail.append({"type": "custom-title", "customTitle": f"Session {i}", "sessionId": sid})
        head_bytes = b"".join(json.dumps(x).encode() + b"\n" for x in head)
        tail_bytes = b"".join(json.dumps(x).encode() + b"\n" for x in tail)
        filler = json.dumps({"type": "user", "sessionId": sid, "cwd": cwd, "timestamp": "2026-06-01T10:00:00Z",
                             "message": {"role": "user", "content": [
                                 {"type": "tool_result", "tool_use_id": "t", "content": filler_text}]}}
                            ).encode() + b"\n"
        path = projects / ("C--Users-ana-repos-project" + str(i % 60)) / f"{sid}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        middle = max(0, (size - len(head_bytes) - len(tail_bytes)) // len(filler))
        with open(path, "wb") as f:
            f.write(head_bytes)
            for _ in range(middle):
                f.write(filler)
            f.write(tail_bytes)
            written += f.tell()
    return written


def evict(paths: list[str]) -> bool:
    """Drop the files from the page cache, so the next read comes from disk."""
    if not hasattr(os, "posix_fadvise"):
        return False
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return True


def rchar() -> int | None:
    try:
        with open("/proc/self/io") as f:
            return int(next(line for line in f if line.startswith("rchar:")).split()[1])
    except (OSError, StopIteration):
        return None


def full_read(paths: list[str]) -> int:
    total = 0
    for path in paths:
        with open(path, "rb", buffering=0) as f:
            while chunk := f.read(1 << 20):
                total += len(chunk)
    return total


def measure(fn):
    before_bytes, started = rchar(), time.perf_counter()
    out = fn()
    took = time.perf_counter() - started
    after = rchar()
    return out, took, (after - before_bytes) if before_bytes is not None and after is not None else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--total-gb", type=float, default=5.0)
    parser.add_argument("--keep", metavar="DIR", help="generate into DIR and keep it (reused if already there)")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-transcripts-"))
    try:
        stamp = folder / "generated.json"
        if stamp.exists():
            written = json.loads(stamp.read_text())["bytes"]
        else:
            started = time.perf_counter()
            written = generate(folder, args.count, int(args.total_gb * 1e9))
            os.sync()  # eviction drops only pages already on disk
            stamp.write_text(json.dumps({"bytes": written}))
            print(f"generated {args.count:,} transcripts, {written:,} bytes, in "
                  f"{time.perf_counter() - started:.1f} s")
        data = folder / "Claude"
        (data / "claude-code-sessions" / "acct" / "org").mkdir(parents=True, exist_ok=True)
        data_dir = locations.chosen(data)
        paths = sorted(str(p) for p in (folder / "projects").rglob("*.jsonl"))
        print(f"transcripts: {len(paths):,} files, {written:,} bytes ({written / 1e9:.2f} GB)")

        def index():
            return scan([data_dir], folder / "projects")

        rows = []
        for temperature in ("cold", "warm"):
            for name, fn in (("index", index), ("baseline", lambda: full_read(paths))):
                if temperature == "cold" and not evict(paths):
                    continue
                out, took, kernel = measure(fn)
                if name == "index":
                    assert len(out.transcript_only) == len(paths), "every transcript must be found"
                    counted = sum(s.transcript.bytes_read for s in out.transcript_only)
                else:
                    counted = out
                rows.append((temperature, name, took, kernel if kernel is not None else counted))
        for temperature, name, took, read in rows:
            print(f"{temperature:5} {name:9} {took:8.2f} s  {read:>16,} bytes read")
        for temperature in ("cold", "warm"):
            pair = {name: (took, read) for t, name, took, read in rows if t == temperature}
            if len(pair) == 2:
                (t_i, b_i), (t_b, b_b) = pair["index"], pair["baseline"]
                print(f"{temperature} ratio: time {t_i / t_b:.4f}, bytes {b_i / b_b:.5f}  (index / full read)")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
