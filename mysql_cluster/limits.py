"""Every bound a configuration value must stay within, each with the reason for it.

Kubernetes accepts far more than a working database can run with: a storage size of `10` (bytes), a CPU
request of `2M` (two million CPUs), a lag bound the pods' scripts cannot even read. Each bound here stops one
such class of value before anything is declared, and its error says what is allowed and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from mysql_cluster.validation import Problems, has_unit, parse_quantity

# --- integers -------------------------------------------------------------------------------------
# Every integer below reaches the pods' scripts as an environment variable, and their `require_number`
# (scripts/lib.sh) reads at most 10 digits: every maximum stays below that.

# One primary serves every replica: each replica holds a connection and a binlog dump thread on it, and the
# StatefulSet (OrderedReady) adds and clones them one after the other. Managed MySQL services stop at 10-15
# read replicas per primary; beyond a few dozen the primary's network, not read capacity, is the limit, and a
# larger number is a typo (that would also list every pod name in the Role and in the outputs).
MAX_REPLICAS = 64
MAX_SERVER_ID = 2**32 - 1  # server_id is an unsigned 32-bit integer; 0 disables replication
# A replica an hour behind is broken, not lagging: it should leave the read Service and be looked at. A
# larger bound is usually milliseconds typed as seconds (60000 for 60). MySQL's heartbeat period, which a
# lag bound may drive, stops at 4294967 seconds.
MAX_LAG_SECONDS = 3600
# A database StatefulSet is never ready within a minute (pulls, initialisation, clones): less is a typo.
MIN_DEPLOY_TIMEOUT_SECONDS = 60
# Pulumi holds the stack's lock while it waits. Cloning terabytes pod after pod takes hours, not weeks; a
# larger value is milliseconds typed as seconds (and past ~292 years the engine's duration overflows).
MAX_DEPLOY_TIMEOUT_SECONDS = 7 * 86_400

INTEGER_RANGES: dict[str, tuple[int, int, str]] = {
    "replicas": (1, MAX_REPLICAS, "total pods, the primary included; one primary serves them all"),
    "serverIdOffset": (1, MAX_SERVER_ID, "server_id = offset + ordinal is an unsigned 32-bit integer"),
    "maxLagSeconds": (1, MAX_LAG_SECONDS, "seconds; a replica an hour behind is broken, not lagging"),
    "deployTimeoutSeconds": (
        MIN_DEPLOY_TIMEOUT_SECONDS,
        MAX_DEPLOY_TIMEOUT_SECONDS,
        "seconds, a minute to a week",
    ),
}


def check_integer(problems: Problems, key: str, value: object) -> bool:
    """The integer key `key` is within its range; else a problem saying the range and why."""
    low, high, _ = INTEGER_RANGES[key]
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return True
    return problems.add(key, value, integer_range(key))


def integer_range(key: str) -> str:
    """What the integer key `key` allows, and why."""
    low, high, why = INTEGER_RANGES[key]
    return f"an integer from {low} to {high} ({why})"


# --- namespaces -----------------------------------------------------------------------------------
# Namespaces every cluster has: "creating" one adopts and relabels it (providers before 4.29 do not refuse),
# and `pulumi destroy` then tries to delete it. Kubernetes reserves the prefix `kube-` for itself.
RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def is_reserved_namespace(name: str) -> bool:
    return name in RESERVED_NAMESPACES or name.startswith("kube-")


# --- quantities -----------------------------------------------------------------------------------

MI, GI, TI, PI = (Decimal(2) ** bits for bits in (20, 30, 40, 50))


@dataclass(frozen=True)
class Bounds:
    """What one quantity may be: bytes or CPUs, from `minimum` to `maximum`, each bound with its reason."""

    unit: str  # "bytes" or "CPUs"
    minimum: Decimal
    maximum: Decimal
    why_minimum: str
    why_maximum: str


_NO_NODE = "more than any node offers"
STORAGE = Bounds(
    "bytes",
    GI,
    PI,
    "the server's own files (redo log, undo, system tables) take about 200Mi before data and binary logs",
    "no provider offers a larger volume (cloud block volumes stop at 64Ti)",
)
RESOURCES: dict[tuple[str, str], Bounds] = {
    # InnoDB start-up, crash recovery and the clone's prepare step under a tenth of a CPU outlast the probes.
    ("server", "cpu"): Bounds(
        "CPUs", Decimal("0.1"), Decimal(256), "the server starts too slowly for its probes", _NO_NODE
    ),
    # The sidecar runs scripts and streams one backup at a time: it never keeps more than a few CPUs busy.
    ("sidecar", "cpu"): Bounds(
        "CPUs", Decimal("0.01"), Decimal(8), "the scripts would not run at all", "more than it can use"
    ),
    # mariadbd at rest with the default 128Mi buffer pool takes about 200Mi (mysqld more: see
    # MYSQL_SERVER_MEMORY_LIMIT); below that it is killed while it starts.
    ("server", "memory"): Bounds(
        "bytes", 256 * MI, 32 * TI, "the server alone takes about 200Mi at rest", _NO_NODE
    ),
    # bash, the client and the backup tool streaming a backup.
    ("sidecar", "memory"): Bounds(
        "bytes", 32 * MI, 64 * GI, "the backup tool and the client need tens of Mi", "more than it can use"
    ),
    # Container logs and the scratch volumes (server configuration, run files, /tmp) count against it.
    ("server", "ephemeral-storage"): Bounds("bytes", 64 * MI, PI, "logs and scratch files need it", _NO_NODE),
    ("sidecar", "ephemeral-storage"): Bounds(
        "bytes", 64 * MI, PI, "logs and scratch files need it", _NO_NODE
    ),
}
# mysqld 8.x at rest with its defaults (128Mi buffer pool, performance_schema) takes 400-450Mi: a smaller
# memory limit gets it killed while it starts.
MYSQL_SERVER_MEMORY_LIMIT = 512 * MI


_MULTIPLES = {"k": "a thousand", "M": "a million", "G": "a billion", "T": "10^12", "P": "10^15", "E": "10^18"}


def format_quantity(value: Decimal, unit: str) -> str:
    """`268435456` bytes -> `256Mi`; `0.1` CPUs -> `100m`."""
    if unit == "CPUs":
        return f"{value.normalize():f}" if value >= 1 else f"{(value * 1000).normalize():f}m"
    for suffix, size in (("Pi", PI), ("Ti", TI), ("Gi", GI), ("Mi", MI), ("Ki", Decimal(1024))):
        if value >= size and value % size == 0:
            return f"{(value / size).normalize():f}{suffix}"
    return f"{value.normalize():f}"


def check_quantity(problems: Problems, key: str, value: object, bounds: Bounds) -> Decimal | None:
    """The value of a Kubernetes quantity within `bounds`; else None and a problem saying what is allowed."""
    low, high = format_quantity(bounds.minimum, bounds.unit), format_quantity(bounds.maximum, bounds.unit)
    if bounds.unit == "CPUs":
        allowed = f"a number of CPUs from {low} to {high} (such as 500m, 0.5 or 2)"
    else:
        allowed = f"a size with a unit, from {low} to {high} (such as 512Mi, 10Gi or 10G)"
    quantity = parse_quantity(value) if isinstance(value, str) else None
    if quantity is None or not isinstance(value, str):
        problems.add(key, value, allowed)
        return None
    why = _why_not(value, quantity, bounds)
    if why is not None:
        problems.add(key, value, f"{allowed}; {why}")
        return None
    return quantity


def _why_not(text: str, quantity: Decimal, bounds: Bounds) -> str | None:
    """Why a valid Kubernetes quantity is still no value for a working cluster, or None."""
    cpus = bounds.unit == "CPUs"
    if not cpus and not has_unit(text):
        hint = f"; did you mean {text}Mi or {text}Gi?" if 0 < quantity < 100_000 and text.isdigit() else ""
        return f"a number without a unit is bytes{hint}"
    if not cpus and quantity != quantity.to_integral_value():
        # Kubernetes accepts it, but `512m` of memory is half a byte: always a typo for 512Mi.
        return "a whole number of bytes (Mi or Gi, not m)"
    if cpus and quantity.is_finite() and quantity * 1000 != (quantity * 1000).to_integral_value():
        return "in whole millicores (Kubernetes rounds finer values up)"
    if quantity < bounds.minimum:
        return f"less than {format_quantity(bounds.minimum, bounds.unit)}: {bounds.why_minimum}"
    if quantity <= bounds.maximum:
        return None
    hint = ""
    if cpus and text.isdigit():
        hint = f"; did you mean {text}m?"
    elif cpus and text[-1] in _MULTIPLES:
        hint = f"; {text[-1]!r} multiplies by {_MULTIPLES[text[-1]]}: millicores are 'm'"
    return f"more than {format_quantity(bounds.maximum, bounds.unit)}: {bounds.why_maximum}{hint}"


def check_resources(
    problems: Problems, container: str, requests: Mapping[str, str], limits: Mapping[str, str], flavor: str
) -> None:
    """The requests and limits of `container` ("server" or "sidecar"), each within its bounds."""
    key = f"resources.{container}"
    parsed: dict[str, dict[str, Decimal]] = {"requests": {}, "limits": {}}
    for part, quantities in (("requests", requests), ("limits", limits)):
        for name, text in quantities.items():
            bounds = RESOURCES.get((container, name))
            if bounds is None:
                names = ", ".join(sorted({n for _, n in RESOURCES}))
                problems.add(f"{key}.{part}.{name}", text, f"keys {names}")
            elif (quantity := check_quantity(problems, f"{key}.{part}.{name}", text, bounds)) is not None:
                parsed[part][name] = quantity
    memory_limit = parsed["limits"].get("memory")
    mysql_server = container == "server" and flavor == "mysql"
    if mysql_server and memory_limit is not None and memory_limit < MYSQL_SERVER_MEMORY_LIMIT:
        minimum = format_quantity(MYSQL_SERVER_MEMORY_LIMIT, "bytes")
        problems.add(
            f"{key}.limits.memory",
            limits["memory"],
            f"at least {minimum} for flavor 'mysql': mysqld takes 400-450Mi at rest with its defaults",
        )
    for name, limit in parsed["limits"].items():
        request = parsed["requests"].get(name)
        if request is not None and request > limit:  # Kubernetes rejects the pod
            limit_text = limits[name] if not problems.is_secret(key) else "(secret)"
            problems.add(f"{key}.requests.{name}", requests[name], f"<= the limit {limit_text}")
