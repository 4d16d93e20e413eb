"""Stack configuration the way users mistype it: every value here must be refused with an error that names
its key (and its value, unless it was set with `--secret`).

Keys are stack configuration keys of the project's namespace, unless they carry their own `namespace:`.
Collected by trying many mistakes per key in a loop; each class of mistake that once got through is here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SHA = "0123456789abcdef" * 4  # a well-formed sha256 digest


@dataclass(frozen=True)
class Mistake:
    values: dict[str, Any]  # stack configuration: text, or objects (sent as JSON text)
    key: str  # the key the error must name
    secret: tuple[str, ...] = ()  # keys set with --secret: their values must not appear in the error
    shown: str | None = None  # text the error must show (default: the value of `key`, when it is text)
    extra: dict[str, Any] = field(default_factory=dict)  # valid companions (not part of the mistake)

    @property
    def label(self) -> str:
        return ",".join(f"{k}={v!r}"[:60] for k, v in self.values.items())


def _each(key: str, *values: Any, **companions: Any) -> list[Mistake]:
    return [Mistake({key: value, **companions}, key) for value in values]


MISTAKES: list[Mistake] = [
    # integers: words, units, fractions, exponents, out of range, absurdly large
    *_each("replicas", "0", "-1", "2.5", "three", "", " ", "3 pods", "1e3", "1_000", "0x10", "3.0", "true"),
    *_each("replicas", "1000000", "100000000", "65", "99999999999999999999999", "1" * 5000, "null"),
    *_each("serverIdOffset", "0", "-1", "4294967296", "4294967295", "1.5", "abc", "1e3", "1" * 5000),
    *_each("maxLagSeconds", "0", "-5", "60s", "1m", "1.5", "99999999999", "60000", "10000000000", "1e9"),
    *_each("deployTimeoutSeconds", "30", "0", "-1", "20m", "1200s", "1.5", "99999999999", "1200000"),
    *_each("deployTimeoutSeconds", "9223372037", "1e4"),
    # choices: case, near misses, blanks
    *_each("flavor", "MySQL", "postgres", "mysql8", "", " mysql", "percona"),
    *_each("version", "5.7", "8", "8.4.3", "9.4", "8.0", "8.4 ", "", "10.11"),
    Mistake({"flavor": "mariadb", "version": "8.4"}, "version"),
    Mistake({"flavor": "mariadb", "version": "10.1"}, "version"),
    *_each("antiAffinity", "strict", "Soft", "required", ""),
    *_each("imagePullPolicy", "never", "always", "Pull", ""),
    *_each("createNamespace", "yes", "1", "no", "", "on"),
    *_each("primaryServesReads", "1", "yes", "on", ""),
    # images: unpinned, malformed, bad digests
    *_each("image", "mysql", "mysql:latest", "MySQL:8.4", "mysql:8.4 ", "docker.io/library/mysql", ""),
    *_each(
        "image", "https://docker.io/mysql:8.4", "mysql@sha256:abc", "mysql:8.4:8.4", "registry:5000/mysql"
    ),
    *_each("image", "mysql@sha256:" + SHA.upper(), "mysql@sha256:" + SHA[:-1], "mysql@sha256:" + SHA + "0"),
    *_each("image", "mysql@sha512:" + SHA, "mysql:LATEST", "mysql:Latest"),
    *_each("backupImage", "percona/percona-xtrabackup", "percona xtrabackup:8.4", "percona/x:latest"),
    # a final newline (a YAML block scalar, a file's last line) and look-alike Unicode digits
    *_each("image", "mysql:8.4\n", "mysql:\uff18.\uff14", "mysql:8.4\u200b"),
    *_each("backupImage", "percona/percona-xtrabackup:8.4\n"),
    *_each("namespace", "databases\n"),
    *_each("storageSize", "10Gi\n"),
    *_each("storageClass", "fast\n"),
    *_each("clusterDomain", "cluster.local\n"),
    *_each("existingSecret", "db-credentials\n", createNamespace="false"),
    # images of another flavor or version than the one configured (the SQL and tools would not match)
    Mistake({"flavor": "mariadb", "image": "mysql:8.4"}, "image"),
    Mistake({"image": "mariadb:11.4"}, "image"),
    Mistake({"image": "mysql:8.0.36"}, "image"),
    Mistake({"version": "9.7", "image": "docker.io/library/mysql:8.4.3-oracle"}, "image"),
    Mistake({"flavor": "mariadb", "version": "11.4", "image": "mariadb:10.11"}, "image"),
    Mistake({"backupImage": "percona/percona-xtrabackup:8.0"}, "backupImage"),
    Mistake({"flavor": "mariadb", "backupImage": "percona/percona-xtrabackup:8.4"}, "backupImage"),
    Mistake({"flavor": "mariadb", "backupImage": "mariadb:11.4"}, "backupImage"),
    # names
    *_each("namespace", "Databases", "db_prod", "a" * 64, "-db", "db.", "", "my db"),
    *_each("namespace", "default", "kube-system", "kube-public", "kube-node-lease", "kube-db"),
    *_each("storageClass", "Fast_SSD", "fast ssd", "-fast", "a" * 254),
    *_each("existingSecret", "db_credentials", "DB", "", createNamespace="false"),
    Mistake({"existingSecret": "db-credentials"}, "existingSecret"),
    *_each("passwordRotation", "", "2026 11", "a" * 64, "rotate!", "2026-11\n"),
    Mistake(
        {"passwordRotation": "2026-11", "existingSecret": "db", "createNamespace": "false"},
        "passwordRotation",
    ),
    *_each(
        "clusterDomain", "cluster..local", "Cluster.Local", ".cluster.local", "", "cluster_local", "a" * 254
    ),
    *_each("clusterDomain", "svc.cluster.local", "mysql.svc.cluster.local", "cluster.local."),
    # storage: not a quantity, unit-less bytes, millibytes, too small, too large
    *_each("storageSize", "10GB", "10gb", "10 Gi", "10Gib", "-1Gi", "0", "1500m", "", "ten", "10G "),
    *_each("storageSize", "10", "10737418240", "1e10", "100Mi", "1Ki", "500k", "10Ei", "5Pi", "1e999999999"),
    # objects: not objects, unknown keys, wrong values inside
    *_each(
        "pvcRetention", "Retain", {"whenDeleted": "Keep"}, {"whenDeleted": "retain"}, [], {"whenScale": "x"}
    ),
    *_each("pvcRetention", {"whenDeleted": None}, {"whenDeleted": ["Retain"]}),
    # server options: not an object, options the cluster manages (also behind the server's prefixes and
    # other spellings), values that are no single line, names that are no option name
    *_each("serverConfig", "max_connections=500", [], 500, {"server_id": 5}, {"read_only": "OFF"}),
    *_each("serverConfig", {"skip-log-bin": True}, {"gtid_mode": "OFF"}, {"skip_networking": True}),
    *_each("serverConfig", {"loose_super_read_only": 0}, {"Secure-File-Priv": ""}, {"init_file": "/x"}),
    *_each("serverConfig", {"plugin_load_add": "x.so"}, {"skip-slave-start": False}, {"datadir": "/d"}),
    *_each("serverConfig", {"max_connections": "500\nread_only = OFF"}, {"max_connections": ""}),
    *_each("serverConfig", {"max_connections": None}, {"max_connections": [1]}, {"max connections": 5}),
    *_each("serverConfig", {"max_connections": " 500"}, {"": 1}, {"9max": 1}, {"a" * 65: 1}),
    # ... however the servers would read the name (issue 17, defect 3): prefixes repeated, MariaDB's unique
    # prefixes of names, options that filter or skip what replicas apply, files, values the option file cuts
    *_each("serverConfig", {"loose_skip_grant_tables": 1}, {"loose_loose_init_file": "/x"}, {"read_onl": 0}),
    *_each("serverConfig", {"enable_loose_super_read_only": 0}, {"replicate_do_db": "a"}, {"init_slave": 1}),
    *_each("serverConfig", {"general_log_file": "/x"}, {"max_connections": "500 # x"}, {"loose_": 1}),
    *_each("networkPolicy", "off", {"allowDatabaseFrom": "cluster"}, {"allowDatabaseFrom": []}),
    *_each("networkPolicy", {"allowDatabaseFrom": ["Apps"]}, {"allowDatabaseFrom": ["a", "a"]}),
    *_each("networkPolicy", {"enable": True}, {"enabled": "no"}, {"allowDatabaseFrom": "apps"}),
    *_each("networkPolicy", {"allowDatabaseFrom": ["apps", 3]}, {"allowDatabaseFrom": "Any"}),
    *_each("networkPolicy", {"allowDatabaseFrom": ["*"]}, {"allowDatabaseFrom": None}),
    *_each("resources", "big", {"mysql": {}}, {"server": None}, {"server": {"request": {"cpu": "1"}}}),
    *_each("resources", {"server": {"requests": {"memory": None}}}, {"sidecar": {"limits": {"gpu": "1"}}}),
    # quantities Kubernetes accepts but no working cluster comes from
    *[
        Mistake({"resources": {container: {part: {name: text}}}}, f"resources.{container}.{part}.{name}")
        for container, part, name, text in [
            ("server", "requests", "memory", "512m"),
            ("server", "requests", "memory", "1024"),
            ("server", "limits", "memory", "2147483648"),
            ("server", "limits", "memory", "100Mi"),
            ("server", "limits", "memory", "8Pi"),
            ("server", "requests", "memory", "1Ei"),
            ("server", "requests", "memory", "2g"),
            ("server", "requests", "memory", "2GB"),
            ("server", "requests", "cpu", "half"),
            ("server", "requests", "cpu", "2M"),
            ("server", "requests", "cpu", "500"),
            ("server", "requests", "cpu", "1k"),
            ("server", "requests", "cpu", "0"),
            ("server", "limits", "cpu", "1m"),
            ("server", "requests", "cpu", "-1"),
            ("server", "requests", "cpu", "0.0001"),
            ("server", "requests", "cpu", "1e3"),
            ("server", "requests", "cpu", "1e-999999999"),
            ("server", "requests", "cpu", "1.5m"),
            ("sidecar", "limits", "memory", "16Mi"),
            ("sidecar", "requests", "memory", "64"),
            ("sidecar", "requests", "cpu", "100"),
            ("server", "limits", "ephemeral-storage", "1"),
            ("server", "limits", "ephemeral-storage", "10"),
            ("server", "limits", "ephemeral-storage", "1Ki"),
        ]
    ],
    Mistake(
        {"resources": {"server": {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}}},
        "resources.server.requests.memory",
    ),
    Mistake({"flavor": "mysql", "resources": {"server": {"limits": {"memory": "300Mi"}}}}, "resources"),
    # unknown keys and keys under a configuration namespace this program does not read
    *[Mistake({key: "3"}, key) for key in ("replica", "storagesize", "Replicas", "maxLag", "namespaces")],
    # `pulumi config set` of a nested value without --path: a top-level key with dots in its name
    Mistake({"resources.server.requests.cpu": "1"}, "resources.server.requests.cpu", shown="--path"),
    Mistake({"pvcRetention.whenDeleted": "Delete"}, "pvcRetention.whenDeleted", shown="--path"),
    Mistake({"networkPolicy.enabled": "false"}, "networkPolicy.enabled", shown="--path"),
    *[
        Mistake({key: "5"}, key, shown="mysql-cluster:")
        for key in (
            "mysql:replicas",
            "mysql_cluster:replicas",
            "mysqlcluster:storageSize",
            "mysql-Cluster:replicas",
            "kubernetes:replicas",
            "mysql:namespace",
            "db:maxLagSeconds",
            "mysql_cluster:whatever",
        )
    ],
    # values set with --secret: the error names the key and what is allowed, never the value
    Mistake({"replicas": "-7301"}, "replicas", secret=("replicas",)),
    Mistake({"image": "mysql:latest"}, "image", secret=("image",)),
    Mistake({"storageSize": "10GB"}, "storageSize", secret=("storageSize",)),
    Mistake(
        {"existingSecret": "s3cr3t_name", "createNamespace": "false"}, "existingSecret", ("existingSecret",)
    ),
    Mistake({"existingSecret": "s3cr3t-name"}, "existingSecret", secret=("existingSecret",)),
    Mistake({"flavor": "oracle-x"}, "flavor", secret=("flavor",)),
    Mistake({"flavor": "mariadb", "version": "7.3.1"}, "version", secret=("version",)),
    Mistake({"replicas": "17", "serverIdOffset": "4294967295"}, "serverIdOffset", secret=("replicas",)),
    Mistake({"resources": {"server": {"requests": {"cpu": "7331M"}}}}, "resources", secret=("resources",)),
    Mistake({"networkPolicy": {"allowDatabaseFrom": ["Sekr1t"]}}, "networkPolicy", secret=("networkPolicy",)),
    Mistake({"clusterDomain": "sekr1t..local"}, "clusterDomain", secret=("clusterDomain",)),
    Mistake({"namespace": "kube-system"}, "namespace", secret=("namespace",)),
]


def _leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [] if value is None else [str(value)]


def _shows(message: str, text: str) -> bool:
    if len(text) >= 4:
        return text in message
    return re.search(rf"(?<![\w.]){re.escape(text)}(?![\w.])", message) is not None


def verdict(mistake: Mistake, read: Callable[[Mistake], object], error: type[Exception]) -> str | None:
    """None when the mistake is refused as it must be; else what went wrong (it got through)."""
    try:
        read(mistake)
    except error as refused:
        message = str(refused)
        lines = [line.strip().removeprefix("- ") for line in message.splitlines()]
        if not any(line.startswith(mistake.key) for line in lines):
            return f"refused without naming {mistake.key}: {message}"
        for key in mistake.secret:
            leaked = [leaf for leaf in _leaves(mistake.values[key]) if leaf.strip() and _shows(message, leaf)]
            if leaked:
                return f"secret value of {key} shown: {message}"
        raw = mistake.values.get(mistake.key)
        shown = mistake.shown or (raw.strip() if isinstance(raw, str) and len(raw) <= 60 else None)
        if shown and mistake.key not in mistake.secret and repr(shown)[1:-1] not in message:
            return f"value {shown!r} not shown: {message}"
        return None
    except Exception as crash:  # a crash is one way of getting through
        return f"crashed: {type(crash).__name__}: {str(crash)[:200]}"
    return "accepted"


def as_config(values: dict[str, Any], project: str) -> dict[str, str]:
    """What the engine hands the program: text, objects as JSON text; keys qualified by the project."""
    return {
        (key if ":" in key else f"{project}:{key}"): v if isinstance(v, str) else json.dumps(v)
        for key, v in values.items()
    }
