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

import hashlib
import os
import re
import shutil
import stat
import time

from app.core import backfill, fsops, runcheck, slug, transcripts
from app.core.display import counted
from app.core.engine import COPY, REMOVE, Item
from app.core.plans import Action, FileChange, snapshot
from app.core.records import Session
from app.core.runcheck import Snapshot
from app.core.transcript_index import UUID, holds_turns, session_ids_in


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
MIRROR_IN_PLACE = "mirror-in-place"  # the file given is already this session's mirror, byte for byte
MIRROR_REFUSED = "mirror-refused"  # the file given (or the session named) is not one to install: the user's mistake
STUB_QUIET_SECONDS = 10 * 60  # a stub written more recently may belong to a session still running
STUB_LIMIT = 1 << 20  # a stub is a few lines; a bigger file is not set aside as one


SPACE_TO_SPARE = 256 << 20  # a copy never leaves the disk with less than this: Claude Desktop must still save
PEEK_FOLDERS = 8  # transcripts read to tell whether a long path's folder is this cwd's


def project_folder(projects_root: str, cwd: str) -> str:
    """The folder of ``projects_root`` the CLI uses for ``cwd``: its slug;
    past 200 characters, where the CLI adds a hash that depends on its build,
    an existing folder with the same first 200, but only when a transcript in
    it says it ran in this very ``cwd`` (other long paths share those 200)."""
    exact = os.path.join(projects_root, slug.slug(cwd))
    if fsops.lexists(exact):
        return exact
    try:
        names = sorted(e.name for e in os.scandir(projects_root) if e.is_dir(follow_symlinks=False))
    except OSError:
        names = []
    for name in names:
        if slug.folder_matches(name, cwd) and _holds_cwd(os.path.join(projects_root, name), cwd):
            return os.path.join(projects_root, name)
    return exact


def _holds_cwd(folder: str, cwd: str) -> bool:
    try:
        names = sorted(e.name for e in os.scandir(folder) if e.name.endswith(".jsonl"))[:PEEK_FOLDERS]
    except OSError:
        return False
    return any(backfill.same_folder(transcripts.read_info(n[:-6], os.path.join(folder, n)).cwd, cwd) for n in names)


def copy_from_sandbox(session: Session, projects_root: str | None) -> Action:
    """Class O: copy the conversation from the sandbox to where Claude looks."""
    source, cli = session.conversation, session.cli_session_id
    if not source or not cli or projects_root is None:
        return Action(session, LEAVE, "its conversation was not found in a sandbox; nothing to copy")
    if not UUID.match(cli) or os.path.basename(source).lower() != f"{cli.lower()}.jsonl":
        return Action(session, LEAVE, "its conversation id is not a session id, so nothing is copied")
    cwd = transcripts.read_info(cli, source).cwd
    if not cwd:
        return Action(session, LEAVE, "its conversation does not say which folder it ran in, so where Claude Desktop "
                                      "looks for it cannot be known; it stays where it is")
    folder = project_folder(projects_root, cwd)
    target = os.path.join(folder, f"{cli}.jsonl")
    unsafe = runcheck.chain_problem(os.path.join(folder, cli, "x"), projects_root)
    if unsafe:
        return Action(session, LEAVE, f"nothing is copied: {unsafe}")
    try:
        changes, items, made, clash = _copies(source, target, folder, cli)
    except OSError as exc:
        return Action(session, LEAVE, f"its conversation could not be read ({fsops.describe_error(exc)})")
    if clash:
        return Action(session, LEAVE, f"a different file is already at {clash}; both are kept as they are, and "
                                      "nothing is copied (if that file holds no conversation, move it elsewhere "
                                      "and repair again)")
    if not items:
        return Action(session, "none", "its conversation is already where Claude Desktop looks")
    short = _short_of_space(projects_root, sum(c.after.size for c in changes if c.after))
    if short:
        return Action(session, LEAVE, short)
    return Action(session, COPY_CONVERSATION, f"its conversation will be copied from Claude Desktop's old "
                  f"per-session folder to {folder}, where the app looks (the original stays where it is)",
                  tuple(changes), tuple(items), tuple(made),
                  done=f"its conversation was copied from Claude Desktop's old per-session folder to {folder}, "
                       "where the app looks (the original is where it was)")


def _short_of_space(projects_root: str, size: int) -> str | None:
    """Why a copy of ``size`` bytes would leave too little room; None when it fits."""
    try:
        free = shutil.disk_usage(projects_root).free
    except OSError:
        return None  # not knowable here; a full disk still fails the copy cleanly, and it is undone
    if free - size >= SPACE_TO_SPARE:
        return None
    return (f"its conversation ({size:,} bytes) is not copied: the disk would be left with less than "
            f"{SPACE_TO_SPARE >> 20} MB free, which Claude Desktop needs to save its sessions")


def _copies(source: str, target: str, folder: str,
            cli: str) -> tuple[list[FileChange], list[Item], list[str], str | None]:
    """Each file of the sidecar folder, then the transcript (last: a copy
    cut short leaves no conversation that looks whole): the changes and
    items that copy them, the folders to make, or the first target that
    already holds something else."""
    pairs = []
    sidecar = os.path.join(os.path.dirname(source), cli)
    if fsops.is_plain_dir(sidecar):
        for dirpath, dirnames, filenames in os.walk(sidecar, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if fsops.is_plain_dir(os.path.join(dirpath, d)))
            rel = os.path.relpath(dirpath, sidecar)
            for name in sorted(filenames):
                st = os.lstat(os.path.join(dirpath, name))
                if stat.S_ISREG(st.st_mode) and not fsops.is_link(st):
                    pairs.append((os.path.join(dirpath, name), os.path.normpath(os.path.join(folder, cli, rel, name))))
    pairs.append((source, target))
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


def set_aside_stubs(session: Session, stubs: list[str], now: float | None = None,
                    projects_root: str | None = None) -> Action:
    """Class T: move the stubs that may shadow this session's conversation
    into the run's backup (a change from "there" to "gone", backed up first).
    Never while a Claude Code session with this id runs (its worker may still
    write to the stub), never through a linked project folder."""
    now = time.time() if now is None else now
    if projects_root is not None and session.cli_session_id and \
            session.cli_session_id.lower() in live_cli_sessions(projects_root):
        return Action(session, LEAVE, "a Claude Code session with this id is running; the stub stays where it is "
                                      "until it ends")
    changes, items, left = [], [], []
    for path in stubs:
        why = _not_a_quiet_stub(path, now) or (projects_root is not None
                                               and runcheck.chain_problem(path, projects_root))
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
        return Action(session, LEAVE, "the stub that may shadow its conversation stays where it is: "
                      + "; ".join(left))
    kept = f" ({'; '.join(left)})" if left else ""
    set_aside = counted(len(items), "stub")
    return Action(session, SET_ASIDE_STUB, f"{set_aside} with its id, holding no conversation, will be set "
                  f"aside into the backup, so that Claude Desktop opens its real conversation{kept}",
                  tuple(changes), tuple(items),
                  done=f"{set_aside} with its id, holding no conversation, {'was' if len(items) == 1 else 'were'} set "
                       f"aside into the backup, so that Claude Desktop opens its real conversation{kept}")


def live_cli_sessions(projects_root: str) -> set[str]:
    """The session ids of the Claude Code workers running now: each keeps
    ``sessions/<pid>.json`` beside the projects folder (storage reference
    §1).  A file whose process is alive, or whose process cannot be told,
    counts as running: when unsure, a stub is left where it is."""
    import psutil  # only a rebuild that sets a stub aside needs it

    live: set[str] = set()
    folder = os.path.join(os.path.dirname(projects_root), "sessions")
    try:
        names = [e.name for e in os.scandir(folder) if e.name.endswith(".json")]
    except OSError:
        return live
    for name in names:
        data = repair_read(os.path.join(folder, name), 64 * 1024)
        ids = {m.decode().lower() for m in _ANY_UUID.findall(data or b"")}
        pid = name[:-5]
        if ids and (not pid.isdigit() or psutil.pid_exists(int(pid))):
            live |= ids
    return live


_ANY_UUID = re.compile(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


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
    if not session.ssh_host or not UUID.match(cli) or mirror is None:
        return Action(session, MIRROR_REFUSED, "it is not an SSH session (or has no conversation id); no mirror to "
                                               "install")
    try:
        named, turns, sha, size = _read_whole(supplied)
    except OSError as exc:
        return Action(session, MIRROR_REFUSED, f"the file cannot be read ({fsops.describe_error(exc)})")
    if not named:
        return Action(session, MIRROR_REFUSED, "the file names no session, so it is not a Claude Code "
                                               "transcript")
    if named != {cli}:
        others = ", ".join(sorted(named - {cli})[:3]) + (", …" if len(named - {cli}) > 3 else "")
        return Action(session, MIRROR_REFUSED, f"the file's lines name another session ({others}), not only this "
                                               f"one ({cli})")
    if not turns:
        return Action(session, MIRROR_REFUSED, "the file holds no conversation (no message of yours or "
                                               "Claude's)")
    return _mirror_action(session, mirror, supplied, sha, size)


def _read_whole(path: str) -> tuple[set[str], bool, str, int]:
    """Every sessionId a file's lines name, whether it holds a turn, its
    hash and size: all of it read, once, a megabyte at a time (never
    through a link, never a pipe)."""
    fd, _ = fsops.open_regular(path)
    digest, size, named, turns, carry = hashlib.sha256(), 0, set(), False, b""
    try:
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
            size += len(chunk)
            window = carry + chunk
            named |= session_ids_in(window)
            turns = turns or holds_turns(window)
            carry = chunk[-128:]  # a key cut between two chunks is seen whole in the next window
    finally:
        os.close(fd)
    return named, turns, digest.hexdigest(), size


def _mirror_action(session: Session, mirror: str, supplied: str, sha: str, size: int) -> Action:
    before = None
    if fsops.lexists(mirror):
        try:
            before = snapshot(mirror)
        except OSError as exc:
            return Action(session, LEAVE, f"the mirror here cannot be read ({fsops.describe_error(exc)})")
        if (before.size, before.sha256) == (size, sha):
            return Action(session, MIRROR_IN_PLACE, "this file is already installed: the copy Claude Desktop reads "
                                                    "is the same, byte for byte")
        if before.size >= size:
            return Action(session, LEAVE, f"the mirror here is as long as the file, or longer ({before.size:,} "
                                          "bytes); it is never replaced by a shorter one")
        if before.size and not fsops.starts_with(supplied, mirror, before.size):
            return Action(session, LEAVE, "the mirror here holds a conversation the file does not begin with; both "
                                          "are kept as they are")
    made = _missing_parents(os.path.dirname(mirror), os.path.dirname(os.path.dirname(mirror)))
    after = Snapshot(sha, size)
    item = Item(COPY, mirror, source=supplied, source_sha256=sha, target_sha256=before.sha256 if before else None)
    will, did = (("will replace the empty or shorter", "replaced the empty or shorter") if before
                 else ("will become the", "became the"))
    what = f"local copy Claude Desktop reads for this SSH session ({mirror})"
    return Action(session, INSTALL_MIRROR, f"the copied transcript ({size:,} bytes) {will} {what}",
                  (FileChange(mirror, before, after),), (item,), tuple(made),
                  done=f"the copied transcript ({size:,} bytes) {did} {what}")
