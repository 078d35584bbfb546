"""app/core is the engine both front ends share: it must never pull in Qt."""

import ast
import pkgutil
import subprocess
import sys

import app.core

from conftest import ROOT

FORBIDDEN = ("PySide6", "shiboken6", "PyQt5", "PyQt6", "app.gui", "app.cli")


def core_modules() -> list[str]:
    return [f"app.core.{m.name}" for m in pkgutil.iter_modules(app.core.__path__)]


def test_core_modules_exist():
    assert {"app.core.locations", "app.core.scan", "app.core.loader"} <= set(core_modules())


def test_importing_every_core_module_loads_no_qt():
    code = ("import sys\n"
            f"for name in {core_modules()!r}: __import__(name)\n"
            f"bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6','shiboken6','PyQt5','PyQt6')"
            " or m.startswith(('app.gui', 'app.cli'))]\n"
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_core_source_mentions_a_front_end_import():
    for path in (ROOT / "app" / "core").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"
