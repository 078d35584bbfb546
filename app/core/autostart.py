"""Start the watcher at logon: for the current user only, without admin rights.

* Windows: a shortcut in the user's Startup folder (Task Scheduler would need
  admin rights for a logon trigger), made by PowerShell's WScript.Shell;
* macOS: a LaunchAgent in ``~/Library/LaunchAgents`` (RunAtLoad);
* Linux and the BSDs: an XDG autostart entry in ``~/.config/autostart``.

Every entry runs the program actually in use: the executable when frozen, the
``session-rescue`` script when started as one, else this Python with ``-m app``.
"""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from app.core.locations import Host

LABEL = "com.session-rescue.watch"
DESKTOP_FILE = "session-rescue-watch.desktop"
SHORTCUT = "Session Rescue (keep sessions repaired).lnk"


def command() -> list[str]:
    """How to start this very program again."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.name.lower().startswith("session-rescue") and script.exists():
        return [str(script.resolve())]
    return [sys.executable, "-m", "app"]


@dataclass
class Status:
    enabled: bool
    path: Path
    command: list[str] | None = None  # what the entry runs, when it can be read


def entry_path(host: Host) -> Path:
    home = host.home()
    if host.family == "windows":
        appdata = host.local(host.env["APPDATA"]) if host.env.get("APPDATA") else home / "AppData" / "Roaming"
        return appdata / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "Startup" / SHORTCUT
    if host.family == "macos":
        return home / "Library" / "LaunchAgents" / f"{LABEL}.plist"
    config = Path(host.env["XDG_CONFIG_HOME"]) if host.env.get("XDG_CONFIG_HOME") else home / ".config"
    return config / "autostart" / DESKTOP_FILE


def desktop_entry(cmd: list[str]) -> str:
    exec_line = " ".join(_desktop_quote(part) for part in cmd)
    return ("[Desktop Entry]\nType=Application\nName=Session Rescue (keep sessions repaired)\n"
            "Comment=Repairs Claude Desktop's lost sessions each time Claude Desktop quits\n"
            f"Exec={exec_line}\nTerminal=false\nNoDisplay=true\nX-GNOME-Autostart-enabled=true\n")


def _desktop_quote(arg: str) -> str:
    """Quoting by the Desktop Entry specification (Exec key)."""
    if arg and not any(c in arg for c in ' \t\n"\'\\><~|&;$*?#()`='):
        return arg
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return f'"{escaped}"'


def _desktop_split(exec_line: str) -> list[str]:
    """The arguments of an Exec value (the inverse of _desktop_quote)."""
    args: list[str] = []
    current, quoted, in_arg, i = [], False, False, 0
    while i < len(exec_line):
        c = exec_line[i]
        if quoted and c == "\\" and i + 1 < len(exec_line):
            current.append(exec_line[i + 1])
            i += 2
            continue
        if c == '"':
            quoted, in_arg = not quoted, True
        elif c == " " and not quoted:
            if in_arg:
                args.append("".join(current))
            current, in_arg = [], False
        else:
            current.append(c)
            in_arg = True
        i += 1
    if in_arg:
        args.append("".join(current))
    return args


def launch_agent(cmd: list[str], log_dir: Path | None = None) -> bytes:
    plist = {"Label": LABEL, "ProgramArguments": cmd, "RunAtLoad": True, "ProcessType": "Background"}
    if log_dir is not None:
        plist["StandardErrorPath"] = str(log_dir / "watcher.err.log")
    return plistlib.dumps(plist)


def shortcut_script(path: Path, cmd: list[str]) -> str:
    """PowerShell that makes the Startup-folder shortcut (the .lnk format is
    Windows' own; its shell writes it best)."""
    def ps(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    arguments = subprocess.list2cmdline(cmd[1:])
    return ("$s = (New-Object -ComObject WScript.Shell).CreateShortcut(" + ps(str(path)) + "); "
            f"$s.TargetPath = {ps(cmd[0])}; $s.Arguments = {ps(arguments)}; "
            f"$s.WorkingDirectory = {ps(str(Path(cmd[0]).parent))}; $s.WindowStyle = 7; "
            "$s.Description = 'Session Rescue keeps Claude Desktop sessions repaired'; $s.Save()")


def enable(host: Host | None = None, cmd: list[str] | None = None) -> Path:
    """Write the entry (replacing an older one); its path."""
    host = host or Host.this_machine()
    cmd = [*(cmd or command()), "watch"]
    path = entry_path(host)
    path.parent.mkdir(parents=True, exist_ok=True)
    if host.family == "windows":
        if not host.is_live:
            raise OSError("a Windows shortcut can only be made on Windows")
        done = subprocess.run(["powershell", "-NoProfile", "-NonInteractive", "-Command", shortcut_script(path, cmd)],
                              capture_output=True, text=True, timeout=60,
                              creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
        if done.returncode != 0 or not path.exists():
            raise OSError(f"could not make the shortcut {path}: {done.stderr.strip() or done.stdout.strip()}")
        return path
    data = launch_agent(cmd) if host.family == "macos" else desktop_entry(cmd).encode()
    temp = path.with_name(path.name + ".part")
    temp.write_bytes(data)
    os.replace(temp, path)
    return path


def disable(host: Host | None = None) -> Path | None:
    """Remove the entry; its path, or None when there was none."""
    path = entry_path(host or Host.this_machine())
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    return path


def status(host: Host | None = None) -> Status:
    host = host or Host.this_machine()
    path = entry_path(host)
    if not path.exists():
        return Status(False, path)
    cmd: list[str] | None = None
    try:
        if host.family == "macos":
            cmd = list(plistlib.loads(path.read_bytes()).get("ProgramArguments", []))
        elif host.family != "windows":
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.startswith("Exec="):
                    cmd = _desktop_split(line[len("Exec="):])
    except (OSError, ValueError):
        cmd = None
    return Status(True, path, cmd)
