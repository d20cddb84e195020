"""What a sales report asks for and how its buckets are cut. Plain Python: no SQL or gRPC.

The figures come from quarter-hour rollups (migration 0014); a period is the local days `from`
to `to` (inclusive) in the report's time zone, and each bucket is a local day, ISO week
(Monday) or month, cut to the period at both ends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.common.errors import Validator

GRANULARITIES = ("day", "week", "month")
MAX_DAYS = 366
DEFAULT_TOP = 10
MAX_TOP = 50


@dataclass(frozen=True)
class ReportQuery:
    start: date
    end: date  # inclusive
    granularity: str
    time_zone: str
    top: int


def _date(v: Validator, name: str, raw: str) -> date | None:
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        v.fail(name, "must be a date as YYYY-MM-DD")
        return None


def validate_query(start: str, end: str, granularity: str, time_zone: str, top: int) -> ReportQuery:
    v = Validator()
    first = _date(v, "from", start.strip())
    last = _date(v, "to", end.strip())
    if first and last:
        if last < first:
            v.fail("to", "must be on or after from")
        elif (last - first).days >= MAX_DAYS:
            v.fail("to", f"the period is at most {MAX_DAYS} days")
    v.check(granularity in GRANULARITIES, "granularity", "must be DAY, WEEK or MONTH")
    zone = time_zone.strip() or "UTC"
    try:
        # IANA names only ("Europe/Paris", "UTC"): PostgreSQL would also take POSIX strings
        # such as "UTC+3", whose sign is the opposite of what people mean.
        if len(zone) > 64 or not (zone == "UTC" or "/" in zone) or ".." in zone:
            raise ValueError(zone)
        ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        v.fail("time_zone", "must be an IANA time zone name such as Europe/Paris (or UTC)")
    v.check(0 <= top <= MAX_TOP, "top_products", f"must be 0 to {MAX_TOP}")
    v.raise_if_any()
    assert first is not None and last is not None
    return ReportQuery(first, last, granularity, zone, top or DEFAULT_TOP)


def bucket_start(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def bucket_starts(query: ReportQuery) -> list[date]:
    """Every bucket of the period, the first cut to `start`."""
    starts = [query.start]
    day = query.start
    while True:
        if query.granularity == "day":
            day = day + timedelta(days=1)
        elif query.granularity == "week":
            day = bucket_start(day, "week") + timedelta(days=7)
        else:
            day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
        if day > query.end:
            return starts
        starts.append(day)


def average(total: int, count: int) -> int:
    """total / count rounded half up; 0 without a count."""
    return (2 * total + count) // (2 * count) if count else 0
