"""Start the watcher at logon: for the current user only, without admin rights.

* Windows: a shortcut in the user's Startup folder (Task Scheduler would need
  admin rights for a logon trigger), made by PowerShell's WScript.Shell;
* macOS: a LaunchAgent in ``~/Library/LaunchAgents`` (RunAtLoad);
* Linux and the BSDs: an XDG autostart entry in ``~/.config/autostart``.

Every entry runs the program actually in use: the executable when frozen, the
``session-rescue`` script when started as one, else this Python with
``-P -m app`` (``-P``: the folder it starts in, at logon the home folder, is
not searched for modules, so a folder there named ``app`` is not what runs).
"""

from __future__ import annotations

import os
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

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
    return [sys.executable, "-P", "-m", "app"]


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
    """The XDG autostart entry that runs ``cmd``; OSError when an argument
    holds a character no Exec line can carry."""
    _refuse_control_characters(cmd)
    exec_line = _desktop_escape(" ".join(_desktop_quote(part) for part in _through_env(cmd)))
    return ("[Desktop Entry]\nType=Application\nName=Session Rescue (keep sessions repaired)\n"
            "Comment=Repairs Claude Desktop's lost sessions each time Claude Desktop quits\n"
            f"Exec={exec_line}\nTerminal=false\nNoDisplay=true\nX-GNOME-Autostart-enabled=true\n")


# The Desktop Entry Specification (the Exec key) encodes an argument in three
# layers, which a launcher peels in reverse: the key file's string escapes
# (``\\`` for a backslash), then the shell-like double quotes, then the field
# codes (``%%`` for a literal ``%``; any other ``%`` is a file or URL the
# launcher substitutes).  Writing: %-codes first, then quotes, then escapes.
#
# Reserved characters force the quotes.  "=" is not one, but the executable's
# path "may not contain" it: quoted, launchers (GLib, KDE) still run it.
_RESERVED = frozenset(' \t\n"\'\\><~|&;$*?#()`')
_QUOTE_THESE = _RESERVED | {"="}
_QUOTED_ESCAPES = frozenset('"`$\\')  # a backslash goes before these inside quotes
_STRING_ESCAPES = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}


# GLib looks for the program (the first argument) before it undoes "%%", so
# it looks for ".../100%%/session-rescue", finds nothing, and silently does
# not load the entry.  A program whose path holds a "%" is therefore started
# through env (found in PATH), which GLib finds, and which then runs the path
# it is given, its "%%" undone by then.
_ENV = "env"


def _through_env(cmd: list[str]) -> list[str]:
    """``cmd``, started through env when its program's path holds a "%" (or
    is "env" itself, so that reading it back is exact)."""
    if not cmd or ("%" not in cmd[0] and cmd[0] != _ENV):
        return cmd
    if "=" in cmd[0] or cmd[0].startswith("-"):
        # env would take "NAME=VALUE" for a variable to set, and "-x" for an option
        raise OSError(f"the path {cmd[0]!r} holds both a '%' and a '=' (or starts with '-'), which an autostart "
                      "entry cannot start on Linux; move the program to another folder")
    return [_ENV, *cmd]


def _from_env(cmd: list[str]) -> list[str]:
    """The inverse of _through_env: the command as the user gave it."""
    if len(cmd) >= 2 and cmd[0] == _ENV and ("%" in cmd[1] or cmd[1] == _ENV):
        return cmd[1:]
    return cmd


def _refuse_control_characters(cmd: list[str]) -> None:
    """A newline would end the line (and start a key of the path's choosing);
    other control characters have no safe spelling in every launcher; a lone
    surrogate (bytes that are not UTF-8) none in a UTF-8 file."""
    for arg in cmd:
        if any(unicodedata.category(c) in ("Cc", "Cs") for c in arg):
            raise OSError(f"the path {arg!r} holds a control character or bytes that are not UTF-8, "
                          "which an autostart entry cannot hold safely")


def _desktop_quote(arg: str) -> str:
    """One argument of an Exec value, before the key file's string escapes."""
    arg = arg.replace("%", "%%")  # else "%f" or "%u" would be a file the launcher fills in
    if arg and not any(c in _QUOTE_THESE for c in arg):
        return arg
    return '"' + "".join("\\" + c if c in _QUOTED_ESCAPES else c for c in arg) + '"'


def _desktop_escape(value: str) -> str:
    """The key file's escapes for a string value: the launcher reads ``\\\\``
    as one backslash before it sees the quotes, so each one is doubled.
    (Control characters were refused; the value never starts with a space.)"""
    return value.replace("\\", "\\\\")


def _desktop_split(exec_value: str) -> list[str]:
    """The arguments of an Exec value as written in the file: the exact
    inverse of desktop_entry's encoding.  ValueError when it is not one."""
    return [_desktop_unpercent(arg) for arg in _desktop_unquote(_desktop_unescape(exec_value))]


def _desktop_unescape(value: str) -> str:
    """Undo the key file's string escapes (\\s \\n \\t \\r \\\\)."""
    out: list[str] = []
    chars = iter(value)
    for c in chars:
        if c == "\\":
            code = next(chars, "")
            if code not in _STRING_ESCAPES:
                raise ValueError(f"invalid escape \\{code} in an Exec value")
            c = _STRING_ESCAPES[code]
        out.append(c)
    return "".join(out)


def _desktop_unquote(line: str) -> list[str]:
    """Split at spaces outside double quotes, undoing the quotes' backslashes."""
    args: list[str] = []
    current: list[str] = []
    quoted = in_arg = False
    chars = iter(line)
    for c in chars:
        if quoted and c == "\\":
            escaped = next(chars, "")
            if escaped not in _QUOTED_ESCAPES:
                raise ValueError(f"invalid escape \\{escaped} inside quotes in an Exec value")
            current.append(escaped)
        elif c == '"':
            quoted, in_arg = not quoted, True
        elif quoted:
            current.append(c)
        elif c == " ":
            if in_arg:
                args.append("".join(current))
            current, in_arg = [], False
        elif c in _RESERVED:
            raise ValueError(f"reserved character {c!r} outside quotes in an Exec value")
        else:
            current.append(c)
            in_arg = True
    if quoted:
        raise ValueError("unterminated quote in an Exec value")
    if in_arg:
        args.append("".join(current))
    return args


def _desktop_unpercent(arg: str) -> str:
    """Undo ``%%``; any other field code is not something we wrote."""
    out: list[str] = []
    chars = iter(arg)
    for c in chars:
        if c == "%":
            code = next(chars, "")
            if code != "%":
                raise ValueError(f"field code %{code} in an Exec value")
        out.append(c)
    return "".join(out)


def launch_agent(cmd: list[str], log_dir: Path | None = None) -> bytes:
    plist = {"Label": LABEL, "ProgramArguments": cmd, "RunAtLoad": True, "ProcessType": "Background"}
    if log_dir is not None:
        plist["StandardErrorPath"] = str(log_dir / "watcher.err.log")
    import plistlib  # macOS only: not loaded (nor packed) for the others' sake at start

    return plistlib.dumps(plist)


# PowerShell that makes the Startup-folder shortcut (the .lnk format is
# Windows' own; its shell writes it best).  It is a constant: the paths reach
# it as environment variables, never as code, because PowerShell takes the
# typographic quotes (’ ‘ ‚ ‛ “ ” „) for quotes too, so no quoting of ours
# could keep a path like C:\Users\O’Brien from ending a string literal.
SHORTCUT_SCRIPT = (
    "$s = (New-Object -ComObject WScript.Shell).CreateShortcut($env:SR_SHORTCUT); "
    "$s.TargetPath = $env:SR_TARGET; $s.Arguments = $env:SR_ARGUMENTS; "
    "$s.WorkingDirectory = $env:SR_WORKDIR; $s.WindowStyle = 7; "
    "$s.Description = 'Session Rescue keeps Claude Desktop sessions repaired'; $s.Save()")


def shortcut_command(path: Path, cmd: list[str]) -> tuple[list[str], dict[str, str]]:
    """The PowerShell command line that makes the shortcut, and the variables
    to add to its environment."""
    import subprocess  # here, as in _make_shortcut: only Windows needs it, and the window reads status() at start

    _refuse_control_characters([str(path), *cmd])  # an environment cannot hold a NUL
    env = {"SR_SHORTCUT": str(path), "SR_TARGET": cmd[0], "SR_ARGUMENTS": subprocess.list2cmdline(cmd[1:]),
           # Windows' notion of the folder, even when the tests build this elsewhere
           "SR_WORKDIR": str(PureWindowsPath(cmd[0]).parent)}
    return ["powershell", "-NoProfile", "-NonInteractive", "-Command", SHORTCUT_SCRIPT], env


def enable(host: Host | None = None, cmd: list[str] | None = None) -> Path:
    """Write the entry (replacing an older one); its path."""
    host = host or Host.this_machine()
    cmd = [*(cmd or command()), "watch"]
    path = entry_path(host)
    if host.family == "windows":
        return _make_shortcut(host, path, cmd)
    # Built first: a path it refuses leaves nothing behind, not even a folder.
    data = launch_agent(cmd) if host.family == "macos" else desktop_entry(cmd).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".part")
    temp.write_bytes(data)
    os.replace(temp, path)
    return path


def _make_shortcut(host: Host, path: Path, cmd: list[str]) -> Path:
    import subprocess

    if not host.is_live:
        raise OSError("a Windows shortcut can only be made on Windows")
    argv, env = shortcut_command(path, cmd)
    path.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False,
                          creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
    if done.returncode != 0 or not path.exists():
        raise OSError(f"could not make the shortcut {path}: {done.stderr.strip() or done.stdout.strip()}")
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
            import plistlib

            cmd = list(plistlib.loads(path.read_bytes()).get("ProgramArguments", []))
        elif host.family != "windows":
            # split at "\n" only: splitlines() would also break at U+2028 and
            # the like, which a path may hold and the key file does not end lines at
            for line in path.read_text(encoding="utf-8").split("\n"):
                if line.startswith("Exec="):
                    cmd = _from_env(_desktop_split(line[len("Exec="):]))
    except (OSError, ValueError):
        cmd = None
    return Status(True, path, cmd)
