"""How big is the executable, and how fast does it get to a painted window?

Builds dist/SessionRescue with build_exe.spec (or takes --exe), then, in the
same run and in turn, starts

* exe      - the one-file executable (which unpacks itself at every start);
* baseline - ``python -m app`` from this checkout's environment;

each as ``gui --data-dir DEMO --screenshot FILE``: the time from starting the
process to its exit is the time to a window filled with the demo data, its
first row's preview shown and painted (and saved; screenshot mode waits a
fixed 0.3 s for the last paint, in both).  Offscreen, so that no display is
needed.  Best and median of the rounds are printed, and the ratio
of the best times.

    python benchmarks/bench_exe.py [--exe PATH] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core import demo  # noqa: E402

EXE_NAME = "SessionRescue.exe" if sys.platform == "win32" else "SessionRescue"


def build(out: Path) -> Path:
    pyinstaller = Path(sys.executable).parent / ("pyinstaller.exe" if sys.platform == "win32" else "pyinstaller")
    started = time.perf_counter()
    subprocess.run([str(pyinstaller), "--noconfirm", "--clean", "--distpath", str(out / "dist"), "--workpath",
                    str(out / "build"), str(ROOT / "build_exe.spec")], check=True, capture_output=True, cwd=ROOT)
    print(f"built in {time.perf_counter() - started:.0f} s")
    return out / "dist" / EXE_NAME


def to_window(command: list[str], data: Path, shot: Path, env: dict) -> float:
    started = time.perf_counter()
    subprocess.run([*command, "gui", "--data-dir", str(data), "--screenshot", str(shot)], check=True,
                   capture_output=True, env=env, timeout=300)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exe", type=Path, help="an executable already built (default: build one now)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-exe-") as tmp:
        tmp_path = Path(tmp)
        exe = args.exe or build(tmp_path)
        data = demo.write_demo(tmp_path / "Claude").path
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_STATE_HOME": str(tmp_path / "state"),
               "PYTHONPATH": str(ROOT)}
        runs: dict[str, list[float]] = {"exe": [], "baseline": []}
        for i in range(args.repeat):
            runs["exe"].append(to_window([str(exe)], data, tmp_path / f"exe-{i}.png", env))
            runs["baseline"].append(to_window([sys.executable, "-m", "app"], data, tmp_path / f"py-{i}.png", env))
        size = exe.stat().st_size
    print(f"size:     {size:,} bytes ({size / 1e6:.1f} MB; goal on Linux: 45 MB or less)")
    for name, label in (("exe", "one-file executable"), ("baseline", "python -m app")):
        times = runs[name]
        print(f"{name + ':':9} best {min(times):.2f} s, median {statistics.median(times):.2f} s  ({label}, "
              f"start to painted window, {args.repeat} runs)")
    print(f"ratio:    {min(runs['exe']) / min(runs['baseline']):.2f}  (executable / python -m app, best times)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
