#!/usr/bin/env python3
"""Post-deploy check of a mysql-cluster deployment: is its StatefulSet rolled out, does it really replicate,
and if not, why not.

    scripts/check.py                         # the current Pulumi stack, through kubectl port-forward
    scripts/check.py --stack prod --json     # another stack, JSON for machines
    scripts/check.py --wait 300              # right after `pulumi up`: until healthy, at most 5 minutes
    MYSQL_ROOT_PASSWORD=... scripts/check.py --endpoint mysql-0=127.0.0.1:3306 --endpoint mysql-1=...

Exit codes: 0 healthy, 1 unhealthy, 2 unreachable or misconfigured. The checks, the flags and the JSON schema
are described in scripts/mysql_cluster_check/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:0] = [
    str(_HERE),
    str(_HERE.parent),
]  # the package beside this file; mysql_cluster when not installed

from mysql_cluster_check.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
