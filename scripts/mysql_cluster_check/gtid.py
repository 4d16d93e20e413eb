"""GTID sets of both flavors as the servers print them: where their transactions came from, and which of one
set's transactions another lacks. Pure functions; the container scripts decide the same way
(mysql_cluster/scripts/reclone.sh: GTID_SUBTRACT on MySQL, per domain and server id on MariaDB).
"""

from __future__ import annotations

import re
from collections import defaultdict

Intervals = list[tuple[int, int]]

_MARIADB_ITEM = re.compile(r"(\d+)-(\d+)-(\d+)")


def _items(text: str) -> list[str]:
    """The comma-separated items of a set, on one line (MySQL breaks gtid_executed after each comma)."""
    return [item.strip() for item in text.replace("\n", "").split(",") if item.strip()]


def origins(flavor: str, history: str) -> set[str]:
    """Where the transactions of a GTID history came from: MySQL `gtid_executed` gives source UUIDs
    (`uuid:1-5:tag:1-2,...`), MariaDB `gtid_binlog_state` gives `domain-server_id` pairs (`0-100-57,...`)."""
    if flavor == "mariadb":
        return {item.rsplit("-", 1)[0] for item in _items(history)}
    return {item.split(":", 1)[0].lower() for item in _items(history)}


def missing(flavor: str, held: str, history: str) -> str:
    """The GTIDs of `held` that `history` lacks, as a set in the flavor's notation ("" when none).

    MySQL: set difference of uuid[:tag] intervals. MariaDB (positions and binlog states, one item per domain
    and server id): an item d-s-n is lacking unless `history` holds d-s-m with m >= n (gtid_strict_mode:
    sequence numbers only grow). Raises ValueError on text that is no GTID set of the flavor."""
    if flavor == "mariadb":
        newest: dict[tuple[str, str], int] = {}
        for domain, server, seq in (_mariadb_item(item) for item in _items(history)):
            newest[domain, server] = max(seq, newest.get((domain, server), 0))
        lacking = []
        for item in _items(held):
            domain, server, seq = _mariadb_item(item)
            if newest.get((domain, server), -1) < seq and item not in lacking:
                lacking.append(item)
        return ",".join(lacking)
    have = _mysql_sets(history)
    lacking_sets = []
    for key, intervals in _mysql_sets(held).items():
        rest = _subtract(_merge(intervals), _merge(have.get(key, [])))
        if rest:
            uuid, tag = key
            ranges = ":".join(f"{low}" if low == high else f"{low}-{high}" for low, high in rest)
            lacking_sets.append(f"{uuid}:{tag + ':' if tag else ''}{ranges}")
    return ",".join(lacking_sets)


def _mariadb_item(item: str) -> tuple[str, str, int]:
    match = _MARIADB_ITEM.fullmatch(item)
    if not match:
        raise ValueError(f"not a MariaDB GTID: {item!r}")
    return match[1], match[2], int(match[3])


def _mysql_sets(text: str) -> dict[tuple[str, str], Intervals]:
    """{(uuid, tag): intervals}; a tag (8.4+: `uuid:tag:1-5`) applies to the intervals after it."""
    sets: dict[tuple[str, str], Intervals] = defaultdict(list)
    for item in _items(text):
        uuid, *parts = item.split(":")
        tag = ""
        for part in parts:
            bounds = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
            if bounds:
                sets[uuid.lower(), tag].append((int(bounds[1]), int(bounds[2] or bounds[1])))
            elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
                tag = part.lower()
            else:
                raise ValueError(f"not a MySQL GTID set item: {item!r}")
    return sets


def _merge(intervals: Intervals) -> Intervals:
    merged: Intervals = []
    for low, high in sorted(intervals):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _subtract(intervals: Intervals, taken: Intervals) -> Intervals:
    rest: Intervals = []
    for first, high in intervals:
        low = first
        for taken_low, taken_high in taken:
            if taken_high < low or taken_low > high:
                continue
            if taken_low > low:
                rest.append((low, taken_low - 1))
            low = taken_high + 1
            if low > high:
                break
        if low <= high:
            rest.append((low, high))
    return rest
