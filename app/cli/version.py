"""``session-rescue --version``: the version, and for the executable its own
SHA-256, to compare with the release's SHA256SUMS.txt."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from app import __version__


class ShowVersion(argparse.Action):
    """Like argparse's "version", but the SHA-256 is read only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show the version (and the executable's SHA-256) and exit", **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        from app.core import selfcheck  # hashing is for --version alone, not every command's start

        lines = [f"session-rescue {__version__}"]  # the product's name, however it is run
        check = selfcheck.fingerprint()
        if check.path is not None:  # from source, the version says it all
            lines.append(check.line)
        print("\n".join(lines))
        parser.exit()
