"""What the projector's facts touched: plain values shared by the projection modules. What it announces
after recomputing is `shared.contracts.ProgressChanged`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


def key_columns(keys: list[ProgressKey]) -> tuple[list[str], list[str], list[int]]:
    """`keys` as three columns, for `unnest($1::text[], $2::text[], $3::int[])`."""
    return [k.unit_code for k in keys], [k.indicator for k in keys], [k.plan_year for k in keys]


@dataclass(frozen=True, order=True)
class ProgressKey:
    unit_code: str
    indicator: str
    plan_year: int


EVER = dt.date.min  # "since the first date": every row of a key is recomputed


@dataclass
class Touched:
    """What a batch of facts changed, so the derived rows can be recomputed for just that."""

    # Each (unit, indicator, plan year) and the earliest date its facts changed: a figure as of a date
    # changes that date's row and the later ones (values carry forward), a target every row (EVER).
    keys: dict[ProgressKey, dt.date] = field(default_factory=dict)
    registered: set[str] = field(default_factory=set)  # units (re-)registered: their peer group may change
    retenured: set[str] = field(default_factory=set)  # units whose tenures changed
    successors: set[str] = field(default_factory=set)  # units that took others over by a merger
    # Each key and the earliest day a fact written for it became known (its "known on"): the snapshots
    # of what was known on a day from then on are out of date.
    known: dict[ProgressKey, dt.date] = field(default_factory=dict)
    # The first and last day any fact written became known: the span the month-end snapshots cover.
    known_span: tuple[dt.date, dt.date] | None = None

    def touch(self, key: ProgressKey, since: dt.date = EVER) -> None:
        if key not in self.keys or since < self.keys[key]:
            self.keys[key] = since

    def know(self, key: ProgressKey, known_on: dt.date = EVER) -> None:
        if key not in self.known or known_on < self.known[key]:
            self.known[key] = known_on

    def saw_known(self, first: dt.date, last: dt.date) -> None:
        if self.known_span is not None:
            first, last = min(first, self.known_span[0]), max(last, self.known_span[1])
        self.known_span = (first, last)

    def update(self, other: Touched) -> None:
        for key, since in other.keys.items():
            self.touch(key, since)
        for key, known_on in other.known.items():
            self.know(key, known_on)
        if other.known_span is not None:
            self.saw_known(*other.known_span)
        self.registered |= other.registered
        self.retenured |= other.retenured
        self.successors |= other.successors
