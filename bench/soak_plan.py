"""When the soak breaks what: a list of timed faults, fixed in advance so that two runs break the same things.

Kinds: ``postgres`` (the warehouse and Airflow's database stopped for ``duration_s``), ``kill`` (``program``
SIGKILLed with its process group; supervisord restarts it), ``exchange`` (the exchange stopped for
``duration_s``: unreachable, connection refused).
"""

from __future__ import annotations

from dataclasses import dataclass

QUIET_TAIL_S = 180  # no fault starts in the last 3 minutes: the stack must show it caught up


@dataclass(frozen=True)
class PlannedFault:
    at_s: float  # seconds after the soak's start
    kind: str  # postgres | kill | exchange
    program: str | None = None
    duration_s: float = 0.0

    @property
    def label(self) -> str:
        if self.kind == "postgres":
            return f"PostgreSQL stopped {self.duration_s:.0f} s"
        if self.kind == "exchange":
            return f"exchange unreachable {self.duration_s:.0f} s"
        return f"{self.program} SIGKILL"


def _clear_of(at_s: float, taken: list[PlannedFault], margin_s: float = 60) -> float:
    """`at_s`, moved later until it is at least `margin_s` from every fault already planned."""
    moved = True
    while moved:
        moved = False
        for fault in taken:
            if fault.at_s - margin_s < at_s < fault.at_s + fault.duration_s + margin_s:
                at_s, moved = fault.at_s + fault.duration_s + margin_s, True
    return at_s


def full_plan(minutes: float) -> list[PlannedFault]:
    """`make soak`: PostgreSQL stopped 45 s every 15 min (from minute 5), the triggerer killed twice (at 1/6 and
    2/3 of the run), the scheduler once (5/12), the exchange unreachable 60 s once (1/2). For 60 minutes: PostgreSQL
    at 5, 20, 35, 50 min, triggerer at 10 and 40, scheduler at 25, exchange at 30."""
    total = minutes * 60
    last_start = total - QUIET_TAIL_S
    plan = [PlannedFault(at, "postgres", "postgres", 45) for at in range(300, int(last_start) - 44, 900)]
    for share, kind, program, duration in (
        (1 / 6, "kill", "airflow-triggerer", 0),
        (2 / 3, "kill", "airflow-triggerer", 0),
        (5 / 12, "kill", "airflow-scheduler", 0),
        (1 / 2, "exchange", "exchange", 60),
    ):
        at = _clear_of(share * total, plan)
        if at <= last_start:
            plan.append(PlannedFault(at, kind, program, duration))
    return sorted(plan, key=lambda f: f.at_s)


def short_plan(minutes: float) -> list[PlannedFault]:
    """The test's few minutes: the triggerer killed early (its trigger is picked up again only after Airflow's
    30 s triggerer health threshold), then PostgreSQL stopped 20 s halfway."""
    return [PlannedFault(40, "kill", "airflow-triggerer"), PlannedFault(minutes * 30, "postgres", "postgres", 20)]


PLANS = {"full": full_plan, "short": short_plan}
