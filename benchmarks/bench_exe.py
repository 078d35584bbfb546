"""How big is the executable, and how fast does it get to a painted window,
against a bare hello-world PySide6 window built the same way?

Builds, in the same run and on this machine,

* SessionRescue - dist/SessionRescue with build_exe.spec (or takes --exe);
* bare          - a hello-world PySide6 window (a QLabel), one file, built by a
                  spec written to a temporary folder with build_exe.spec's own
                  options: one file, windowed, stripped (not on Windows), no
                  UPX, the same excludes, drop filter and bytecode
                  optimisation (build_exe_drop.py); no icon, version resource
                  or manifest;

then starts each in turn, offscreen (no display needed), as
``gui --data-dir DEMO --screenshot FILE``: SessionRescue fills its window with
the demo data, shows the first row's preview, waits 0.3 s and saves a
screenshot; the bare window, once it has painted, waits the same 0.3 s and
saves its screenshot.  Start to painted window is the time from starting the
process to the screenshot's file being written (its modification time), less
that 0.3 s wait.  Both unpack themselves at every start (one file).

Sizes, and the best and median of --repeat rounds, are printed; the ratios
(SessionRescue / bare, best times) come last.  Goals: start to painted window
at most 1.2 times the bare build's; on Linux, at most 1 MB more than it.

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

SUFFIX = ".exe" if sys.platform == "win32" else ""
SCREENSHOT_WAIT = 0.3  # s; app/gui/app.py waits this long between ready and the screenshot, and so does the bare one
TIME_GOAL, SIZE_GOAL = 1.2, 1_000_000

# The bare window: the smallest PySide6 program that shows a window, with the
# app's screenshot protocol (the same arguments, the same wait, a PNG saved).
BARE_SCRIPT = '''\
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel


class Hello(QLabel):
    painted = False

    def paintEvent(self, event):
        super().paintEvent(event)
        if not self.painted:
            self.painted = True
            QTimer.singleShot({wait_ms}, self.shoot)

    def shoot(self):
        self.grab().save(sys.argv[sys.argv.index("--screenshot") + 1], "PNG")
        self.close()


app = QApplication(sys.argv[:1])
app.setStyle("Fusion")
window = Hello("Hello, world")
window.resize(1280, 780)
window.show()
sys.exit(app.exec())
'''

# build_exe.spec's options, less what only the app needs (its icons, its
# hidden imports, the icon, version resource and manifest).
BARE_SPEC = '''\
# -*- mode: python -*-
import runpy
import sys

DROP = runpy.run_path({drop!r})
a = Analysis([{script!r}], excludes=DROP["EXCLUDES"], noarchive=False, optimize=DROP["OPTIMIZE"])
a.binaries = [e for e in a.binaries if DROP["wanted"](e[0])]
a.datas = [e for e in a.datas if DROP["wanted"](e[0])]
pyz = PYZ(a.pure)
exe = EXE(pyz, a.scripts, a.binaries, a.datas, [], name="Bare", console=False,
          strip=sys.platform != "win32", upx=False)
'''


def build(spec: Path, out: Path, name: str) -> Path:
    pyinstaller = Path(sys.executable).parent / ("pyinstaller.exe" if sys.platform == "win32" else "pyinstaller")
    started = time.perf_counter()
    done = subprocess.run([str(pyinstaller), "--noconfirm", "--clean", "--distpath", str(out / "dist"),
                           "--workpath", str(out / "build"), str(spec)], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"building {spec.name} failed:\n{done.stderr[-3000:]}")
    print(f"built {name} in {time.perf_counter() - started:.0f} s")
    return out / "dist" / name


def build_bare(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    script = out / "bare.py"
    script.write_text(BARE_SCRIPT.format(wait_ms=round(SCREENSHOT_WAIT * 1000)), encoding="utf-8")
    spec = out / "bare.spec"
    spec.write_text(BARE_SPEC.format(drop=str(ROOT / "build_exe_drop.py"), script=str(script)), encoding="utf-8")
    return build(spec, out, "Bare" + SUFFIX)


def to_window(exe: Path, data: Path, shot: Path, env: dict) -> float:
    """Seconds from the start to the painted window (see the module's doc)."""
    shot.unlink(missing_ok=True)
    started = time.time_ns()
    subprocess.run([str(exe), "gui", "--data-dir", str(data), "--screenshot", str(shot)], check=True,
                   capture_output=True, env=env, timeout=300)
    return (shot.stat().st_mtime_ns - started) / 1e9 - SCREENSHOT_WAIT


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exe", type=Path, help="SessionRescue already built (default: build it now)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-exe-") as tmp:
        tmp_path = Path(tmp)
        exes = {"SessionRescue": args.exe or build(ROOT / "build_exe.spec", tmp_path / "app", "SessionRescue" + SUFFIX),
                "bare": build_bare(tmp_path / "bare")}
        data = demo.write_demo(tmp_path / "Claude").path
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_STATE_HOME": str(tmp_path / "state")}
        runs: dict[str, list[float]] = {name: [] for name in exes}
        for i in range(args.repeat):
            for name, exe in exes.items():
                runs[name].append(to_window(exe, data, tmp_path / f"{name}-{i}.png", env))
        sizes = {name: exe.stat().st_size for name, exe in exes.items()}
    for name in exes:
        times = runs[name]
        print(f"{name + ':':14} {sizes[name]:,} bytes ({sizes[name] / 1e6:.1f} MB); start to painted window: "
              f"best {min(times):.3f} s, median {statistics.median(times):.3f} s ({args.repeat} runs)")
    extra = sizes["SessionRescue"] - sizes["bare"]
    ratio = min(runs["SessionRescue"]) / min(runs["bare"])
    print(f"size:  {extra:+,} bytes ({extra / 1e6:+.2f} MB) over the bare build "
          f"(goal on Linux: {SIZE_GOAL / 1e6:.0f} MB or less: {'met' if extra <= SIZE_GOAL else 'not met'})")
    print(f"ratio: {ratio:.2f} (start to painted window, SessionRescue / bare, best times; "
          f"goal {TIME_GOAL} or less: {'met' if ratio <= TIME_GOAL else 'not met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
