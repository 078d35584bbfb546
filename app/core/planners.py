"""Every kind of plan, by its kind: the one table both front ends and the
transaction look a planner up in.  Each takes a scan and the ids a user named
(None: all it applies to) and returns a :class:`plans.Plan`."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from app.core import adopt, rebuild, repair
from app.core.kinds import Kind
from app.core.plans import Plan
from app.core.records import ScanResult

Planner = Callable[[ScanResult, Iterable[str] | None], Plan]

PLANNERS: dict[Kind, Planner] = {Kind.REPAIR: repair.plan, Kind.ADOPT: adopt.plan, Kind.REBUILD: rebuild.plan}
