"""The Claude Code CLI's project-folder name for a working directory, exactly.

Transcripts live in ``~/.claude/projects/<slug(cwd)>/``.  A tool that places or
looks for a transcript with a slug that is almost right looks in a folder the
CLI never reads, so this follows the rule in the shipped CLI bundle to the
letter (failures reference, class U)::

    key = cwd.replace(/[^a-zA-Z0-9]/g,"-")     // per UTF-16 code unit
    if key.length <= 200: return key
    h = 0; for each UTF-16 unit u: h = int32((h<<5) - h + u)
    return key.slice(0,200) + "-" + base36(abs(h))

JavaScript strings are UTF-16, so the rule counts and replaces code units, not
characters: a character outside the BMP (an emoji) is two units and becomes
``--``, and "200" is 200 units.

A slug cannot be turned back into a folder (``/a-b`` and ``/a/b`` share one),
so there is deliberately no reverse function: take ``cwd`` from the lines.
Pure: no file system.
"""

from __future__ import annotations

MAX_KEY = 200  # units of the plain key before the CLI (2.1.224+) shortens it and adds a hash
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_KEPT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def _units(text: str) -> list[int]:
    """``text`` as JavaScript sees it: UTF-16 code units.  ``surrogatepass``
    keeps a lone surrogate (a JSON ``"\\ud800"``, or a POSIX path Python
    decoded with surrogateescape) as the one unit it is in JavaScript."""
    data = text.encode("utf-16-le", "surrogatepass")
    return [data[i] | data[i + 1] << 8 for i in range(0, len(data), 2)]


def key(cwd: str) -> str:
    """The plain key: every UTF-16 unit that is not an ASCII letter or digit
    becomes ``-``.  Its length is the unit count of ``cwd``."""
    return "".join(chr(u) if u in _KEPT else "-" for u in _units(cwd))


def _hash36(cwd: str) -> str:
    """Java-style string hash (``h*31 + u`` kept to a signed 32-bit int, as
    ``| 0`` does in JavaScript), then ``Math.abs(h).toString(36)``.

    Which string it runs over is not spelled out: the reference's pseudocode
    says "for each UTF-16 unit u" without naming one.  We hash ``cwd``, the
    string the units were just counted in; hashing ``key`` instead would give
    every path that differs only in punctuation (``/a-b``, ``/a/b``) the same
    folder, the kind of collision the 2.1.224 fix was about.  The suffix is
    not relied on anywhere (see :func:`folder_matches`), so a wrong guess here
    can only make :func:`slug` name the wrong suffix, never miss a folder."""
    h = 0
    for u in _units(cwd):
        h = (h * 31 + u + 0x80000000) % 0x100000000 - 0x80000000
    n = abs(h)  # abs(-2**31) is 2**31, as Math.abs gives in JavaScript (a double, not an int32)
    digits = ""
    while True:
        n, d = divmod(n, 36)
        digits = _BASE36[d] + digits
        if not n:
            return digits


def is_long(cwd: str) -> bool:
    """True when the CLI shortens this cwd's folder name and adds a hash
    (class U: such folders moved in CLI 2.1.224)."""
    return len(key(cwd)) > MAX_KEY


def slug(cwd: str) -> str:
    """The folder name under ``~/.claude/projects`` the CLI uses for ``cwd``:
    ``C:\\Users\\You\\Proj`` -> ``C--Users-You-Proj``, ``/home/a/b`` -> ``-home-a-b``."""
    plain = key(cwd)
    if len(plain) <= MAX_KEY:
        return plain
    return f"{plain[:MAX_KEY]}-{_hash36(cwd)}"


def folder_matches(folder_name: str, cwd: str) -> bool:
    """True when ``folder_name`` is the CLI's folder for ``cwd``.

    For a long cwd the hash suffix is opaque: it "depends on how the CLI was
    built" (class U), so the suffix is not compared.
    Its shape is: the first 200 units of the key, ``-``, then one non-empty
    word of ASCII letters and digits, which every base-36 number is.  That
    keeps out most folders of other long paths that share the first 200
    units (their rest has more ``-``), among them the un-hashed folder an
    older CLI may have used for this very cwd, though not all: a rest that is
    one word looks like a hash.  The caller still checks the ``cwd`` in the
    transcript lines, as class U says."""
    plain = key(cwd)
    if len(plain) <= MAX_KEY:
        return folder_name == plain
    head = plain[:MAX_KEY] + "-"
    suffix = folder_name[len(head):]
    return folder_name.startswith(head) and suffix.isascii() and suffix.isalnum()
