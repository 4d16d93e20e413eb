"""The command line: flags in, one report out (a table or JSON on stdout), the verdict as the exit code.

`--wait` repeats the whole check until the cluster is healthy or the time is up, printing one progress line
per attempt on stderr; the last report goes to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from .checks import rollout_state
from .discovery import PASSWORD_ENV, Request, Target, resolve
from .kube import Kubectl, port_forwards
from .model import Address, Cluster, ConfigError, ExitCode, Report, Rollout
from .project import flavors, names
from .render import printable, render_json, render_table, use_colour
from .run import Options, check_cluster

PORT_FORWARD_TIMEOUT = 20.0  # seconds for kubectl to open a forward (it first waits for the pod to run)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="check.py",
        description="Check that a mysql-cluster deployment really replicates, and say why when it does not.",
        epilog=f"The root password is read from the stack output, the Secret, or ${PASSWORD_ENV}; never from "
        "a flag. Exit codes: 0 healthy, 1 unhealthy, 2 unreachable or misconfigured.",
    )
    where = parser.add_argument_group("where the cluster is (default: the current Pulumi stack)")
    where.add_argument("--stack", help="Pulumi stack to read the outputs of")
    where.add_argument("--stack-outputs", action="store_true", help="read the current stack's outputs")
    where.add_argument("--cwd", type=Path, help="Pulumi project directory (default: the current one)")
    where.add_argument("--context", help="kubeconfig context (default: the current one)")
    where.add_argument("--namespace", help="namespace of the cluster")
    where.add_argument("--statefulset", "--release", dest="statefulset", help="StatefulSet (cluster) name")
    where.add_argument("--secret", help="Secret holding the root password (key: --secret-key)")
    where.add_argument("--secret-key", default=names.SECRET_KEY_ROOT, help="key in the Secret (%(default)s)")
    where.add_argument(
        "--flavor", choices=sorted(flavors.SUPPORTED_VERSIONS), help="expected flavor (default: detected)"
    )
    where.add_argument("--version", help="expected major version, e.g. 8.4 or 10.11")
    where.add_argument("--replicas", type=int, help="number of pods, primary included")
    where.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="POD=HOST:PORT",
        help="reach POD at HOST:PORT instead of through kubectl (repeatable)",
    )
    where.add_argument(
        "--via",
        choices=("port-forward", "pod-ip", "pod-host"),
        default="port-forward",
        help="how to reach pods without --endpoint (%(default)s)",
    )
    where.add_argument(
        "--primary-source",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="address replicas must replicate from (default: the primary's pod host names)",
    )
    where.add_argument(
        "--mysql-port", type=int, help="server port in the pods (default: the stack's, or 3306)"
    )
    where.add_argument("--cluster-domain", default="cluster.local", help="cluster DNS domain (%(default)s)")
    how = parser.add_argument_group("what to check")
    how.add_argument("--user", default="root", help="administrative user (%(default)s)")
    how.add_argument("--connect-timeout", type=float, default=5.0, help="seconds (%(default)s)")
    how.add_argument(
        "--max-lag", type=int, help="replication lag limit in seconds (default: stack config, or 60)"
    )
    how.add_argument(
        "--canary-timeout",
        type=float,
        default=30.0,
        help="seconds for the canary row to reach every replica (%(default)s)",
    )
    how.add_argument("--no-canary", action="store_true", help="read only: write no canary row")
    how.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="repeat until healthy or SECONDS have passed",
    )
    how.add_argument(
        "--interval", type=float, default=5.0, help="seconds between --wait attempts (%(default)s)"
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--json", action="store_true", help="print the JSON report (schema mysql-cluster-check/v1)"
    )
    out.add_argument("--color", "--colour", choices=("auto", "always", "never"), default="auto")
    return parser.parse_args(argv)


def request_from(args: argparse.Namespace) -> Request:
    explicit = bool(args.namespace or args.endpoint)
    return Request(
        stack=args.stack,
        use_stack=args.stack_outputs or not explicit,
        cwd=args.cwd,
        context=args.context,
        namespace=args.namespace,
        statefulset=args.statefulset,
        secret=args.secret,
        secret_key=args.secret_key,
        flavor=args.flavor,
        version=args.version,
        replicas=args.replicas,
        endpoints=args.endpoint,
        primary_sources=args.primary_source,
        mysql_port=args.mysql_port,
        cluster_domain=args.cluster_domain,
        max_lag=args.max_lag,
    )


@contextlib.contextmanager
def reach(target: Target, via: str) -> Iterator[dict[str, Address | str]]:
    """An address for every pod: the explicit ones, the rest through kubectl as `via` says."""
    endpoints: dict[str, Address | str] = dict(target.endpoints)
    others = [pod for pod in target.cluster.pods if pod not in endpoints]
    if not others or target.kubectl is None:
        yield endpoints
    elif via == "port-forward":
        with port_forwards(target.kubectl, others, target.mysql_port, PORT_FORWARD_TIMEOUT) as forwarded:
            yield endpoints | forwarded
    else:
        for pod in others:
            try:
                endpoints[pod] = _direct_address(target, target.kubectl, pod, via)
            except ConfigError as error:
                endpoints[pod] = str(error)
        yield endpoints


def _direct_address(target: Target, kubectl: Kubectl, pod: str, via: str) -> Address:
    """The pod's own address: its IP (asked from Kubernetes) or its in-cluster DNS name."""
    if via == "pod-ip":
        return Address(kubectl.pod_ip(pod), target.mysql_port)
    ordinal = target.cluster.pods.index(pod)
    if ordinal >= len(target.pod_hosts):
        raise ConfigError(f"no in-cluster host name known for {pod}")
    return Address(target.pod_hosts[ordinal], target.mysql_port)


def observe_rollout(target: Target) -> Rollout | None:
    """The StatefulSet's rollout, read this round; None without a namespace (pure `--endpoint` mode)."""
    statefulset = target.cluster.statefulset
    if target.kubectl is None or not statefulset:
        return None
    return rollout_state(target.kubectl.statefulset(statefulset))


def run_once(target: Target, args: argparse.Namespace) -> Report:
    options = Options(
        user=args.user,
        connect_timeout=args.connect_timeout,
        canary_timeout=None if args.no_canary else args.canary_timeout,
    )
    rollout = observe_rollout(target)  # before the pods: a finished rollout means these are the new ones
    with reach(target, args.via) as endpoints:
        return check_cluster(target.cluster, endpoints, target.password, options, rollout)


def wait_until_healthy(target: Target, args: argparse.Namespace) -> Report:
    start = time.monotonic()
    attempt = 1
    while True:
        report = run_once(target, args)
        elapsed = time.monotonic() - start
        if report.healthy or elapsed + args.interval > args.wait:
            return report
        print(_progress(attempt, elapsed, args, report), file=sys.stderr, flush=True)
        time.sleep(args.interval)
        attempt += 1


def _progress(attempt: int, elapsed: float, args: argparse.Namespace, report: Report) -> str:
    failed = ", ".join(f"{f.subject} {f.check}={f.observed}" for f in report.failures[:4])
    more = f" and {len(report.failures) - 4} more" if len(report.failures) > 4 else ""
    return (
        f"[check] attempt {attempt} at {elapsed:.0f}s of {args.wait:g}s: {report.exit_code.name.lower()}: "
        f"{printable(failed)}{more}; next in {args.interval:g}s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        target = resolve(request_from(args))
        report = wait_until_healthy(target, args) if args.wait > 0 else run_once(target, args)
    except ConfigError as error:
        report = Report(Cluster(pods=()), (), {}, (), error=str(error))
    except KeyboardInterrupt:
        print("[check] interrupted", file=sys.stderr)
        return int(ExitCode.UNREACHABLE)
    if args.json:
        sys.stdout.write(render_json(report))
    else:
        sys.stdout.write(render_table(report, colour=use_colour(sys.stdout, args.color)))
    if report.error is not None and args.json:
        print(f"[check] {printable(report.error, lines=True)}", file=sys.stderr)
    return int(report.exit_code)
