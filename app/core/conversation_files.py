"""Plans that put a conversation where Claude Desktop looks for it.

Each returns an :class:`plans.Action` whose files are transcripts in the
projects folder, carried out, backed up and undone like every other change:

* **copy from the sandbox** (class O, ``repair``): a transcript left in Claude
  Desktop's old per-session folder is *copied* (never moved) to
  ``<projects>/<slug of its cwd>/<id>.jsonl``, with its ``<id>/`` sidecar
  folder, keeping its times.  Nothing is ever overwritten: a different file
  already there is left, and said.
* **set a stub aside** (class T, ``rebuild``): a stub with the session's id
  (titles and modes, no conversation) in another project folder, which Claude
  Desktop may open instead of the real one, is moved into the run's backup.
  Never a file with turns, never one written in the last few minutes (a live
  session may still be writing it).
* **install an SSH mirror** (class R, ``rebuild --mirror``): the copy of a
  remote transcript the user fetched becomes the local mirror Claude Desktop
  reads, once its lines name the session, and never over a longer mirror.
"""

from __future__ import annotations

import os
import stat
import time

from app.core import fsops, slug, transcripts
from app.core.engine import COPY, REMOVE, Item
from app.core.plans import Action, FileChange, snapshot
from app.core.records import Session
from app.core.runcheck import Snapshot
from app.core.transcript_index import holds_turns, session_ids_in


def repair_read(path: str, limit: int, whole: bool = True) -> bytes | None:
    """Up to ``limit`` bytes of a plain file (never through a link, never a
    pipe); with ``whole``, None when the file is longer than that."""
    try:
        fd, st = fsops.open_regular(path)
    except OSError:
        return None
    try:
        if whole and st.st_size > limit:
            return None
        chunks, total = [], 0
        while total < limit and (chunk := os.read(fd, min(1 << 20, limit - total))):
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)

COPY_CONVERSATION, SET_ASIDE_STUB, INSTALL_MIRROR, LEAVE = "copy-conversation", "set-aside-stub", "install-mirror", \
    "leave"
STUB_QUIET_SECONDS = 10 * 60  # a stub written more recently may belong to a session still running
STUB_LIMIT = 1 << 20  # a stub is a few lines; a bigger file is not set aside as one


def project_folder(projects_root: str, cwd: str) -> str:
    """The folder of ``projects_root`` the CLI uses for ``cwd``: an existing
    one that matches it (past 200 characters the CLI adds a hash that
    depends on its build: matched by the first 200 only), else its slug."""
    exact = os.path.join(projects_root, slug.slug(cwd))
    if os.path.isdir(exact):
        return exact
    try:
        names = sorted(e.name for e in os.scandir(projects_root) if e.is_dir(follow_symlinks=False))
    except OSError:
        names = []
    return next((os.path.join(projects_root, n) for n in names if slug.folder_matches(n, cwd)), exact)


def copy_from_sandbox(session: Session, projects_root: str | None) -> Action:
    """Class O: copy the conversation from the sandbox to where Claude looks."""
    source, cli = session.conversation, session.cli_session_id
    if not source or not cli or projects_root is None:
        return Action(session, LEAVE, "its conversation was not found in a sandbox; nothing to copy")
    cwd = transcripts.read_info(cli, source).cwd
    if not cwd:
        return Action(session, LEAVE, "its conversation does not say which folder it ran in, so where Claude Desktop "
                                      "looks for it cannot be known; it was left where it is")
    folder = project_folder(projects_root, cwd)
    try:
        changes, items, made, clash = _copies(source, os.path.join(folder, f"{cli}.jsonl"), folder, cli)
    except OSError as exc:
        return Action(session, LEAVE, f"its conversation could not be read ({fsops.describe_error(exc)})")
    if clash:
        return Action(session, LEAVE, f"a different file is already at {clash}; both were kept as they are, and "
                                      "nothing was copied (if that file holds no conversation, move it elsewhere "
                                      "and repair again)")
    if not items:
        return Action(session, "none", "its conversation is already where Claude Desktop looks")
    return Action(session, COPY_CONVERSATION, f"its conversation is copied from Claude Desktop's old per-session "
                  f"folder to {folder}, where the app looks (the original stays where it is)",
                  tuple(changes), tuple(items), tuple(made))


def _copies(source: str, target: str, folder: str,
            cli: str) -> tuple[list[FileChange], list[Item], list[str], str | None]:
    """The transcript and each file of its sidecar folder: the changes and
    items that copy them, the folders to make, or the first target that
    already holds something else."""
    pairs = [(source, target)]
    sidecar = os.path.join(os.path.dirname(source), cli)
    if os.path.isdir(sidecar) and not os.path.islink(sidecar):
        for dirpath, dirnames, filenames in os.walk(sidecar, followlinks=False):
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
            rel = os.path.relpath(dirpath, sidecar)
            for name in sorted(filenames):
                if stat.S_ISREG(os.lstat(os.path.join(dirpath, name)).st_mode):
                    pairs.append((os.path.join(dirpath, name), os.path.normpath(os.path.join(folder, cli, rel, name))))
    changes, items, made = [], [], []
    for src, dst in pairs:
        sha, size = fsops.sha256_file(src)
        if fsops.lexists(dst):
            if os.path.isfile(dst) and not os.path.islink(dst) and fsops.sha256_file(dst)[0] == sha:
                continue  # already there, byte for byte
            return [], [], [], dst
        for parent in _missing_parents(os.path.dirname(dst), os.path.dirname(folder)):
            if parent not in made:
                made.append(parent)
        changes.append(FileChange(dst, None, Snapshot(sha, size)))
        items.append(Item(COPY, dst, source=src, source_sha256=sha))
    return changes, items, made, None


def _missing_parents(folder: str, stop: str) -> list[str]:
    """The folders from below ``stop`` down to ``folder`` that do not exist yet, outermost first."""
    missing = []
    while folder and folder != stop and not os.path.isdir(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    return list(reversed(missing))


def set_aside_stubs(session: Session, stubs: list[str], now: float | None = None) -> Action:
    """Class T: move the stubs that may shadow this session's conversation
    into the run's backup (a change from "there" to "gone", backed up first)."""
    now = time.time() if now is None else now
    changes, items, left = [], [], []
    for path in stubs:
        why = _not_a_quiet_stub(path, now)
        if why:
            left.append(f"{path} {why}")
            continue
        try:
            before = snapshot(path)
        except OSError as exc:
            left.append(f"{path} could not be read ({fsops.describe_error(exc)})")
            continue
        changes.append(FileChange(path, before, None))
        items.append(Item(REMOVE, path, target_sha256=before.sha256))
    if not items:
        return Action(session, LEAVE, "the stub that may shadow its conversation was left where it is: "
                      + "; ".join(left))
    reason = (f"{len(items)} stub(s) with its id, holding no conversation, are set aside into the backup, so that "
              "Claude Desktop opens its real conversation" + (f" ({'; '.join(left)})" if left else ""))
    return Action(session, SET_ASIDE_STUB, reason, tuple(changes), tuple(items))


def _not_a_quiet_stub(path: str, now: float) -> str | None:
    """Why ``path`` is not a stub we may set aside; None when it is one:
    small, holding no user or assistant line (read whole to be sure), and
    not written in the last few minutes."""
    try:
        st = os.lstat(path)
    except OSError:
        return "is gone"
    if not stat.S_ISREG(st.st_mode) or st.st_size > STUB_LIMIT:
        return "is not a small plain file"
    if now - st.st_mtime < STUB_QUIET_SECONDS:
        return "was written in the last few minutes (a session may still be writing it)"
    data = repair_read(path, STUB_LIMIT)
    if data is None or holds_turns(data):
        return "holds a conversation, or could not be read whole"
    return None


def install_mirror(session: Session, mirror: str | None, supplied: str) -> Action:
    """Class R: the remote transcript the user copied over becomes the local
    mirror Claude Desktop reads: its lines must name this session, and a
    mirror already here is only ever replaced by a longer file that begins
    with it, never by a shorter or a different one."""
    cli = (session.cli_session_id or "").lower()
    if not session.ssh_host or not cli or mirror is None:
        return Action(session, LEAVE, "it is not an SSH session (or has no conversation id); no mirror to install")
    try:
        st = os.stat(supplied)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(0, "not a plain file", supplied)
        head = repair_read(supplied, 1 << 20, whole=False) or b""
        sha, size = fsops.sha256_file(supplied)
    except OSError as exc:
        return Action(session, LEAVE, f"the file cannot be read ({fsops.describe_error(exc)})")
    named = session_ids_in(head)
    if not named or named != {cli}:
        return Action(session, LEAVE, f"the file's lines name {', '.join(sorted(named)) or 'no session'}, not this "
                                      f"session ({cli}); nothing was installed")
    if not holds_turns(head):
        return Action(session, LEAVE, "the file holds no conversation (no message of yours or Claude's in its "
                                      "first megabyte); nothing was installed")
    return _mirror_action(session, mirror, supplied, sha, size)


def _mirror_action(session: Session, mirror: str, supplied: str, sha: str, size: int) -> Action:
    before = None
    if fsops.lexists(mirror):
        try:
            before = snapshot(mirror)
        except OSError as exc:
            return Action(session, LEAVE, f"the mirror here cannot be read ({fsops.describe_error(exc)})")
        if before.size >= size:
            return Action(session, LEAVE, f"the mirror here is as long as the file, or longer ({before.size:,} "
                                          "bytes); it is never replaced by a shorter one")
        if before.size and not _starts_with(supplied, mirror, before.size):
            return Action(session, LEAVE, "the mirror here holds a conversation the file does not begin with; both "
                                          "were kept as they are")
    made = _missing_parents(os.path.dirname(mirror), os.path.dirname(os.path.dirname(mirror)))
    after = Snapshot(sha, size)
    item = Item(COPY, mirror, source=supplied, source_sha256=sha, target_sha256=before.sha256 if before else None)
    what = "replaces the empty or shorter mirror" if before else "becomes the local mirror"
    return Action(session, INSTALL_MIRROR, f"the copied transcript ({size:,} bytes) {what} Claude Desktop reads "
                  f"for this SSH session ({mirror})", (FileChange(mirror, before, after),), (item,), tuple(made))


def _starts_with(longer: str, shorter: str, length: int) -> bool:
    """Does the file ``longer`` begin with the ``length`` bytes of ``shorter``?"""
    with open(longer, "rb") as a, open(shorter, "rb") as b:
        while length > 0:
            step = min(length, 1 << 20)
            if a.read(step) != b.read(step):
                return False
            length -= step
    return True
