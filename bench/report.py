"""The benchmark's outputs: a JSON report, a PNG chart and the README's markdown table."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

MB = 1e6  # throughputs in MB/s (decimal), sizes in MiB


def machine(env: dict[str, str], image: str) -> dict[str, Any]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    kube = subprocess.run(
        ["kubectl", "version", "-o", "json"], env=env, capture_output=True, text=True, check=False
    )
    try:
        server = json.loads(kube.stdout)["serverVersion"]["gitVersion"]
    except (json.JSONDecodeError, KeyError):
        server = "unknown"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "kubernetes": server,
        "image": image,
        "loadavg_at_start": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def _get(result: dict[str, Any], *path: str) -> Any:
    value: Any = result
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def clone_mbps(result: dict[str, Any], key: str) -> float | None:
    """Throughput of the +1 clone (donor datadir bytes / seconds of `key`: stream_s or container_s)."""
    raw = _get(result, "raw_copy", "bytes")
    seconds = _get(result, "scale_1", "clones", "mysql-3", key)
    return raw / seconds / MB if raw and seconds else None


def raw_mbps(result: dict[str, Any]) -> float | None:
    raw, seconds = _get(result, "raw_copy", "bytes"), _get(result, "raw_copy", "seconds")
    return raw / seconds / MB if raw and seconds else None


def worst_lag(result: dict[str, Any], key: str, run: str = "lag") -> float | None:
    replicas = _get(result, run, "replicas") or {}
    values = [r[key] for r in replicas.values() if r.get("samples")]
    return max(values) if values else None


def rows(results: dict[str, Any]) -> list[tuple[str, float | None, float | None, str]]:
    """(figure, tutorial, program, unit) for every figure of the table and the chart."""
    t, p = results.get("tutorial", {}), results.get("program", {})

    def both(*path: str) -> tuple[float | None, float | None]:
        return _get(t, *path), _get(p, *path)

    def ratio_3_to_1(r: dict[str, Any]) -> float | None:
        one, three = _get(r, "scale_1", "seconds"), _get(r, "scale_3", "seconds")
        return three / one if one and three else None

    def clone_share(r: dict[str, Any]) -> float | None:
        clone, raw = clone_mbps(r, "stream_s"), raw_mbps(r)
        return 100 * clone / raw if clone and raw else None

    mib = results.get("settings", {}).get("data_mib", "?")
    rate = results.get("settings", {}).get("rate", "?")
    return [
        ("1. fresh deploy, 3 pods: to every replica replicating", *both("deploy", "replicating_s"), "s"),
        ("1. fresh deploy, 3 pods: to the deploy command's return", *both("deploy", "deploy_command_s"), "s"),
        ("1. fresh deploy, 3 pods: to the check passing", *both("deploy", "check_passed_s"), "s"),
        (f"2. scale-out with {mib} MiB of rows: +1 replica (3 -> 4)", *both("scale_1", "seconds"), "s"),
        (f"2. scale-out with {mib} MiB of rows: +3 replicas (4 -> 7)", *both("scale_3", "seconds"), "s"),
        ("2. adding 3 / adding 1", ratio_3_to_1(t), ratio_3_to_1(p), "x"),
        ("2. clone throughput, stream phase", clone_mbps(t, "stream_s"), clone_mbps(p, "stream_s"), "MB/s"),
        (
            "2. clone throughput, whole clone",
            clone_mbps(t, "container_s"),
            clone_mbps(p, "container_s"),
            "MB/s",
        ),
        ("2. raw copy of the same bytes, same pods (tar into socat)", raw_mbps(t), raw_mbps(p), "MB/s"),
        ("2. clone stream / raw copy", clone_share(t), clone_share(p), "%"),
        ("3. unthrottled write load (sysbench oltp_write_only)", *both("lag", "tps"), "tps"),
        ("3. lag under it, p50 (worst replica)", worst_lag(t, "p50_s"), worst_lag(p, "p50_s"), "s"),
        ("3. lag under it, p99 (worst replica)", worst_lag(t, "p99_s"), worst_lag(p, "p99_s"), "s"),
        ("3. lag under it, max (worst replica)", worst_lag(t, "max_s"), worst_lag(p, "max_s"), "s"),
        (f"3. throttled write load (--rate={rate})", *both("lag_rate", "tps"), "tps"),
        (
            "3. lag under it, p50 (worst replica)",
            worst_lag(t, "p50_s", "lag_rate"),
            worst_lag(p, "p50_s", "lag_rate"),
            "s",
        ),
        (
            "3. lag under it, p99 (worst replica)",
            worst_lag(t, "p99_s", "lag_rate"),
            worst_lag(p, "p99_s", "lag_rate"),
            "s",
        ),
        (
            "3. lag under it, max (worst replica)",
            worst_lag(t, "max_s", "lag_rate"),
            worst_lag(p, "max_s", "lag_rate"),
            "s",
        ),
        ("4. preview (`kubectl diff` / `pulumi preview`), 3 pods", *both("update", "preview_s"), "s"),
        ("4. no-change update (`kubectl apply` / `pulumi up`)", *both("update", "noop_update_s"), "s"),
    ]


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "%":
        return f"{value:.0f} %"
    if unit == "tps":
        return f"{value:.0f}"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def markdown_table(results: dict[str, Any]) -> str:
    lines = ["| figure | tutorial | this program | program / tutorial |", "|---|---:|---:|---:|"]
    for label, tut, prog, unit in rows(results):
        ratio = f"{prog / tut:.2f}x" if tut and prog is not None and unit not in ("x", "%") else ""
        lines.append(f"| {label} ({unit}) | {_fmt(tut, unit)} | {_fmt(prog, unit)} | {ratio} |")
    m = results.get("machine", {})
    lines.append("")
    load = ", ".join(f"{x:.1f}" for x in m.get("loadavg_at_start", []))
    lines.append(
        f"Measured {m.get('date')} on {m.get('cores')} cores ({m.get('cpu')}), {m.get('memory_gib')} GiB, "
        f"Linux {m.get('kernel')}, Kubernetes {m.get('kubernetes')} (single node, e2e/cluster.sh), "
        f"{m.get('image')}; load average at start {load}."
    )
    return "\n".join(lines)


def short_label(label: str) -> str:
    """'2. scale-out with 1024 MiB of rows: +1 replica (3 -> 4)' -> '+1 replica'."""
    text = label.split(". ", 1)[-1]
    return text.split(": ", 1)[-1].split(" (")[0]


def chart(results: dict[str, Any], path: Path) -> None:
    # Imported here: only the chart needs the bench extra, and the backend must be chosen before pyplot.
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    figures = rows(results)
    groups = [("s", "seconds (lower is better)"), ("MB/s", "MB/s (higher is better)")]
    fig, axes = plt.subplots(1, 3, figsize=(18, 6))
    for ax, (unit, title) in zip(axes[:2], groups, strict=True):
        picked = [f for f in figures if f[3] == unit and not f[0].startswith("3.")]
        labels = [short_label(f[0]) for f in picked]
        xs = list(range(len(picked)))
        ax.bar([x - 0.2 for x in xs], [f[1] or 0 for f in picked], 0.4, label="tutorial")
        ax.bar([x + 0.2 for x in xs], [f[2] or 0 for f in picked], 0.4, label="this program")
        ax.set_xticks(xs, labels, rotation=30, ha="right", fontsize=8)
        ax.set_title(title)
        ax.legend()
    ax = axes[2]
    kinds = [("p50_s", "p50"), ("p99_s", "p99"), ("max_s", "max")]
    series = [(sys_, run) for sys_ in ("tutorial", "program") for run in ("lag", "lag_rate")]
    for i, (system, run) in enumerate(series):
        bars = [n + i * 0.2 for n in range(len(kinds))]
        values = [worst_lag(results.get(system, {}), key, run) or 0 for key, _ in kinds]
        who = "tutorial" if system == "tutorial" else "this program"
        label = f"{who}, {'unthrottled' if run == 'lag' else 'throttled'}"
        ax.bar(bars, values, 0.2, label=label)
    ax.set_xticks([n + 0.3 for n in range(len(kinds))], [name for _, name in kinds])
    ax.set_yscale("symlog", linthresh=1)
    ax.set_title("replication lag, worst replica (s)")
    ax.legend(fontsize=8)
    m = results.get("machine", {})
    fig.suptitle(f"mysql-cluster vs the Kubernetes tutorial, {m.get('image', '')}: {m.get('date', '')}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write(results: dict[str, Any], out: Path, *, partial: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    results["partial"] = partial
    (out / "bench-report.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (out / "bench-table.md").write_text(markdown_table(results) + "\n")
    chart(results, out / "bench-chart.png")
    print(f"[bench] wrote {out}/bench-report.json, bench-table.md, bench-chart.png")
