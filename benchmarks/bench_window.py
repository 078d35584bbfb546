"""Does the window stay responsive while a big data folder streams in?

Generates 10,000 and 100,000 sessions in a temporary folder (records shaped
like the app's, one in five a ``.tmp`` only, each with its conversation in the
data folder's own ``.claude/projects``, plus one lost conversation, with no
record, per twenty sessions), then opens the real MainWindow (offscreen) on
each, three times, and measures from ``window.show()``:

* first rows - until the table's viewport has painted with rows in it;
* stall      - the longest gap between the ticks of a 5 ms timer (the time
               the event loop could not turn: a frozen window), until the
               scan is done and the first row's preview is shown, and 0.2 s
               beyond;
* ready      - until the scan is done and the first row's preview is shown.

Each run's figures are printed as it ends, then, last, the best of the runs
of each figure and whether each goal is met (10,000 sessions: first rows
< 0.2 s, stall < 50 ms; 100,000: first rows < 0.5 s, stall < 100 ms).  The
check for a running Claude Desktop (a walk over the machine's processes,
every 3 s) is left out: it is not the list's work.

    python benchmarks/bench_window.py [--sizes 10000 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import uuid
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_USER_DIRS = tempfile.TemporaryDirectory(prefix="bench-window-user-")
for _name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
    # The window's settings, logs and keys go here, never to the real home.
    os.environ[_name] = os.path.join(_USER_DIRS.name, _name.split("_")[1].lower())

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generate import _conversation, generate  # noqa: E402
from PySide6.QtCore import (  # noqa: E402
    QElapsedTimer,
    QEvent,
    QEventLoop,
    QMessageLogContext,
    QObject,
    QSettings,
    QTimer,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.core import locations  # noqa: E402
from app.gui.main_window import MainWindow  # noqa: E402

GOALS = {10_000: (0.2, 0.050), 100_000: (0.5, 0.100)}  # sessions: (first rows, longest stall), seconds
LOST_EVERY = 20  # one conversation without a record per this many sessions
TAIL_S = 0.2  # how long the stall is still watched once the window is ready


def make_data(root: Path, count: int) -> locations.DataDir:
    """``count`` sessions, each with its conversation, and count / LOST_EVERY
    conversations without a record, in the data folder ``root``."""
    projects = root / ".claude" / "projects"  # the data folder's own: this machine's ~/.claude is not read
    generate(root, count, orphan_every=5, projects=projects)
    for i in range(count // LOST_EVERY):
        _conversation(projects, {"cliSessionId": str(uuid.UUID(int=i)), "cwd": f"C:\\Users\\ana\\lost{i % 30}"})
    return locations.chosen(root)


class Watch(QObject):
    """The longest gap between ticks of a 5 ms timer, and when the table's
    viewport first painted with rows (measured once that paint is done)."""

    def __init__(self, window: MainWindow):
        super().__init__()
        self.window = window
        self.clock = QElapsedTimer()
        self.longest = 0.0
        self.first_rows: float | None = None
        self._last = 0.0
        self._painting = False
        self._timer = QTimer()
        self._timer.timeout.connect(self._tick)
        window.table.viewport().installEventFilter(self)

    def start(self) -> None:
        self.clock.start()
        self._last = self.now()
        self._timer.start(5)

    def stop(self) -> None:
        self._timer.stop()
        self._tick()

    def now(self) -> float:
        """Seconds since start()."""
        return self.clock.nsecsElapsed() / 1e9

    def _tick(self) -> None:
        now = self.now()
        self.longest = max(self.longest, now - self._last)
        self._last = now

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if (event.type() == QEvent.Type.Paint and self.first_rows is None and not self._painting
                and self.window.model.rowCount() > 0):
            self._painting = True
            QTimer.singleShot(0, self._painted)  # runs once this paint (and the flush) is done
        return False

    def _painted(self) -> None:
        self.first_rows = self.now()


def one_run(data_dir: locations.DataDir, tmp: Path, count: int) -> tuple[float, float, float]:
    """(first rows, longest stall, time to ready) for one opening of the window."""
    settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
    settings.clear()
    window = MainWindow([data_dir], settings=settings, backup_root=tmp / "backups",
                        claude_check=lambda: [], check_interval_ms=3_600_000)
    watch = Watch(window)
    ready: list[float] = []
    window.ready.connect(lambda: ready.append(watch.now()))
    loop = QEventLoop()
    window.ready.connect(lambda: QTimer.singleShot(int(TAIL_S * 1000), loop.quit))
    limit = QTimer()
    limit.setSingleShot(True)
    limit.timeout.connect(loop.quit)
    limit.start(600_000)  # ten minutes at most
    watch.start()
    window.show()
    loop.exec()
    watch.stop()
    limit.stop()
    if not ready:
        raise SystemExit("the window did not get ready within 10 minutes")
    # Every session is listed (the table shows those its switches let through).
    assert window.model.total() == count + count // LOST_EVERY, window.model.total()
    assert window.model.rowCount() > 0 and watch.first_rows is not None
    window.close()
    window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # gone, with its sessions, before the next run
    return watch.first_rows, watch.longest, ready[0]


def quiet(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """Qt's messages, but for the offscreen platform's about window hints."""
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def main() -> int:
    qInstallMessageHandler(quiet)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(GOALS))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    _app = QApplication.instance() or QApplication(sys.argv[:1])  # kept until the end
    lines = []
    met_all = True
    for count in args.sizes:
        with tempfile.TemporaryDirectory(prefix="bench-window-") as tmp_name:
            tmp = Path(tmp_name)
            data_dir = make_data(tmp / "Claude", count)
            runs = []
            for _ in range(args.repeat):
                gc.collect()
                runs.append(one_run(data_dir, tmp, count))
                print(f"  {count:,} sessions: first rows {runs[-1][0]:.3f} s, longest stall "
                      f"{runs[-1][1] * 1000:.0f} ms, ready after {runs[-1][2]:.2f} s", flush=True)
        first = min(r[0] for r in runs)
        stall = min(r[1] for r in runs)
        ready_after = min(r[2] for r in runs)
        goal_first, goal_stall = GOALS.get(count, (float("inf"), float("inf")))
        ok = first < goal_first and stall < goal_stall
        met_all &= ok
        lines.append(f"{count:,} sessions (+{count // LOST_EVERY:,} without a record, best of {args.repeat}): "
                     f"first rows {first:.3f} s (goal < {goal_first} s), longest stall {stall * 1000:.0f} ms "
                     f"(goal < {goal_stall * 1000:.0f} ms), ready after {ready_after:.2f} s: "
                     + ("goals met" if ok else "GOAL NOT MET"))
    print("\n".join(lines))
    return 0 if met_all else 1


if __name__ == "__main__":
    sys.exit(main())
