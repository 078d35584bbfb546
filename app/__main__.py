"""``python -m app``, and the entry point of the executable (build_exe.spec)."""

import sys


def attach_windows_console() -> None:
    """Give the windowed Windows executable a voice in a terminal.

    The executable is built windowed, so that a double-click opens no console
    window; such a program starts without standard streams.  Run from cmd or
    PowerShell with a command (``SessionRescue.exe scan``), it attaches to
    that terminal's console and writes there.  Output sent to a pipe or a file
    already works, and is left as it is; the exit code is the process's own.
    """
    if sys.platform != "win32" or not getattr(sys, "frozen", False) or len(sys.argv) < 2:
        return
    if sys.stdout is not None and sys.stderr is not None:
        return
    import ctypes

    kernel32 = ctypes.windll.kernel32
    if not kernel32.AttachConsole(-1):  # ATTACH_PARENT_PROCESS; fails when started without a console
        return
    encoding = f"cp{kernel32.GetConsoleOutputCP()}"  # the console's own code page: no mojibake
    if sys.stdout is None:
        sys.stdout = open("CONOUT$", "w", encoding=encoding, errors="replace", buffering=1)  # noqa: SIM115
    if sys.stderr is None:
        sys.stderr = open("CONOUT$", "w", encoding=encoding, errors="replace", buffering=1)  # noqa: SIM115
    if sys.stdin is None:
        sys.stdin = open("CONIN$", encoding=encoding, errors="replace")  # noqa: SIM115


if __name__ == "__main__":
    from app.core import collector

    collector.hold_start()  # before the imports: they are most of the start (see app.core.collector)
    attach_windows_console()
    from app.cli import main

    sys.exit(main())
