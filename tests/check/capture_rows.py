"""Records what real servers report, for the pure tests in `test_checks.py` (not a test itself).

    MYSQL_ROOT_PASSWORD=... python tests/check/capture_rows.py NAME HOST:PORT [HOST:PORT ...]

writes `tests/check/data/NAME.json`: for each server, in ordinal order, exactly what
`mysql_cluster_check.probe.collect` returned (VERSION(), the identity/read-only/GTID variables and the rows of
the flavor's replica status statement). The files in `data/` were recorded this way from mariadbd 10.11
processes put into each state by `data/record.sh`, which says how.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "scripts"), str(REPO)]

from mysql_cluster_check import Address, Password  # noqa: E402
from mysql_cluster_check.probe import collect, connect  # noqa: E402


def main(name: str, *addresses: str) -> None:
    password = Password(os.environ["MYSQL_ROOT_PASSWORD"])
    servers = []
    for text in addresses:
        conn = connect(Address.parse(text), "root", password, 5.0)
        try:
            servers.append(collect(conn))
        finally:
            conn.close()
    path = Path(__file__).parent / "data" / f"{name}.json"
    path.write_text(json.dumps(servers, indent=1) + "\n")
    print(path)


if __name__ == "__main__":
    main(*sys.argv[1:])
