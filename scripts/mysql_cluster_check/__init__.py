"""The post-deploy replication check of mysql-cluster, as a library (`scripts/check.py` is its command line).

from mysql_cluster_check import Cluster, Password, check_cluster, render_table
report = check_cluster(cluster, {"mysql-0": Address("127.0.0.1", 3306), ...}, Password(pw))
print(render_table(report)); sys.exit(report.exit_code)
"""

from .model import (
    Address,
    CanaryResult,
    Check,
    Cluster,
    ExitCode,
    Failure,
    Password,
    PodState,
    Report,
    Rollout,
)
from .render import render_json, render_table, report_to_json
from .run import Options, check_cluster

__all__ = [
    "Address",
    "CanaryResult",
    "Check",
    "Cluster",
    "ExitCode",
    "Failure",
    "Options",
    "Password",
    "PodState",
    "Report",
    "Rollout",
    "check_cluster",
    "render_json",
    "render_table",
    "report_to_json",
]
