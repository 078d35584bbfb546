"""The kinds of change a plan makes, each also the name its backup run carries,
and which sessions each applies to.

A ``StrEnum``: each member is the plain word (``"repair"``) wherever it is
written or compared, in a manifest, ``--json`` or a log line.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from app.core import reasons

if TYPE_CHECKING:
    from app.core.records import Session


class Kind(StrEnum):
    REPAIR = "repair"  # bring back sessions whose good copy Claude does not read
    ADOPT = "adopt"  # copy sessions of another account into the active one
    REBUILD = "rebuild"  # make records for transcripts, relink records


KINDS = frozenset(k.value for k in Kind)


def applies_to(kind: Kind, session: Session) -> bool:
    """Whether a plan of ``kind`` can do anything for ``session``: the one
    rule both the window (which buttons a selection enables) and the CLI
    follow.  A repair looks at any record; adopt at records of another
    account or of an install the app does not read; rebuild at transcripts
    without a record, records that lost (or point past) their link to one,
    and records whose conversation a stub hides.  (Here, not in plans: the
    window asks it for every selection, and opens without the planning
    machinery.)"""
    if kind == Kind.REPAIR:
        return session.is_record
    if kind == Kind.ADOPT:
        return session.is_record and (not session.active or session.fix == Kind.ADOPT.value)
    if not session.is_record:  # a stub holds no conversation to make a record from
        return reasons.STUB not in session.reasons
    return session.fix == Kind.REBUILD.value or \
        bool({reasons.UNLINKED, reasons.LINK_DANGLING, reasons.STUB_SHADOWS} & set(session.reasons))
