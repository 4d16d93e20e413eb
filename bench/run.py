"""`make bench`: the tutorial, then this program, through the same measurements on the same cluster.

Run by bench/bench.sh, which holds the shared cluster lock, starts the local cluster and stops it afterwards.
Settings (environment): BENCH_FLAVOR (mariadb-10.11, mariadb-11.8 or mysql-9.7: the image both systems run;
default mariadb-10.11), BENCH_DATA_MIB (1024: rows loaded on the primary before scaling out),
BENCH_LOAD_SECONDS (60: each sysbench run), BENCH_THREADS (4: sysbench threads), BENCH_RATE (500: the
transactions per second of the second, throttled sysbench run), BENCH_SYSTEMS
("tutorial,program": which to run, in that order), BENCH_OUT (bench/results/<flavor>: where the report goes).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import copies, report, scenarios
from .flavors import Flavor, chosen_flavor
from .kube import REPO, BenchError, Stack, local_env
from .systems import Program, System, program, tutorial

SYSTEMS = ("tutorial", "program")


def setting(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, str(default))
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise SystemExit(f"[bench] {name}={raw!r}: allowed: an integer from {low} to {high}")
    return int(raw)


def chosen_systems() -> list[str]:
    names = [n.strip() for n in os.environ.get("BENCH_SYSTEMS", ",".join(SYSTEMS)).split(",") if n.strip()]
    if not names or any(n not in SYSTEMS for n in names):
        raise SystemExit(
            f"[bench] BENCH_SYSTEMS={os.environ.get('BENCH_SYSTEMS')!r}: allowed: {', '.join(SYSTEMS)}"
        )
    return names


def measure(system: System, data_mib: int, load_seconds: int, threads: int, rate: int) -> dict[str, Any]:
    """Every measurement in order; a failed one is recorded with its error and the next still runs."""
    result: dict[str, Any] = {}

    def step(key: str, action: Callable[[], dict[str, Any]]) -> bool:
        try:
            result[key] = action()
        except Exception as error:  # any failure of one measurement: record it, measure the rest
            scenarios.log(f"{system.name}: {key} FAILED: {error}")
            result[key] = {"error": str(error)[-2000:]}
            return False
        return True

    if not step("deploy", lambda: scenarios.fresh_deploy(system)):
        return result  # nothing to measure on
    step("update", lambda: scenarios.update_cost(system))
    # Throttled first; each run starts only once the replicas have caught up with everything before it.
    step("lag_rate", lambda: scenarios.lag_under_load(system, load_seconds, threads, rate))
    step("lag", lambda: scenarios.lag_under_load(system, load_seconds, threads))
    step("data", lambda: scenarios.load_data(system, data_mib))
    if step("scale_1", lambda: scenarios.scale_out(system, 3, 4)):
        donor = result["scale_1"]["clones"]["mysql-3"]["donor"]
        step("raw_copy", lambda: copies.raw_copy(system, donor, "mysql-3"))
        step("scale_3", lambda: scenarios.scale_out(system, 4, 7))
    return result


def run_system(
    name: str, flavor: Flavor, env: dict[str, str], workdir: Path, settings: dict[str, int]
) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    system: System = tutorial(env, flavor, workdir) if name == "tutorial" else program(env, flavor)
    started = time.time()
    try:
        if isinstance(system, Program):
            stack = Stack.create(workdir / "stack", env, system.kube.namespace)
            # The flavor as the e2e tier sets it (tests/e2e/conftest.py): its local image for every container.
            for key, value in (("flavor", flavor.name), ("version", flavor.version), ("image", flavor.image),
                               ("backupImage", flavor.image)):  # fmt: skip
                stack.config_set(key, value)
            system.attach(stack)
            system.prepare()
        result = measure(
            system, settings["data_mib"], settings["load_seconds"], settings["threads"], settings["rate"]
        )
    except BenchError as error:
        scenarios.log(f"{name}: setting up FAILED: {error}")
        result = {"setup": {"error": str(error)[-2000:]}}
    finally:
        scenarios.log(f"{name}: tearing down")
        system.teardown()
    result["wall_s"] = time.time() - started
    return result


def main() -> int:
    settings = {
        "data_mib": setting("BENCH_DATA_MIB", 1024, 16, 4096),
        "load_seconds": setting("BENCH_LOAD_SECONDS", 60, 10, 3600),
        "threads": setting("BENCH_THREADS", 4, 1, 64),
        "rate": setting("BENCH_RATE", 500, 1, 100000),
    }
    names = chosen_systems()
    flavor = chosen_flavor()
    out = Path(os.environ.get("BENCH_OUT", str(REPO / "bench/results" / flavor.key)))
    env = local_env()
    machine = report.machine(env, flavor.image)
    results: dict[str, Any] = {"flavor": flavor.key, "settings": settings, "machine": machine}
    results["started"] = time.time()
    scenarios.log(f"flavor {flavor.key} ({flavor.image}), systems {', '.join(names)}")
    try:
        with tempfile.TemporaryDirectory(prefix="mysql-cluster-bench-") as tmp:
            for name in names:
                results[name] = run_system(name, flavor, env, Path(tmp) / name, settings)
    except BenchError as error:
        print(f"[bench] FAILED: {error}", file=sys.stderr)
        report.write(results, out, partial=True)
        return 1
    results["finished"] = time.time()
    failed = [
        f"{n}.{k}" for n in names for k, v in results[n].items() if isinstance(v, dict) and "error" in v
    ]
    report.write(results, out, partial=bool(failed))
    print(report.markdown_table(results))
    if failed:
        print(f"[bench] failed measurements: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
