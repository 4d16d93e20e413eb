"""`serverConfig`: the user's server options, validated and rendered as the ConfigMap's `custom.cnf`.

`init-config.sh` appends `custom.cnf` after the flavor's files and before the pod's identity, so user options
tune the server (buffer pool, connections, binary log expiry) but cannot move what the cluster manages itself:
identity, paths, GTID replication, read-only, plugins and authentication. Those are refused here, each with
the reason, before any resource is declared. A change renders a new `custom.cnf`, so a new content-addressed
ConfigMap, so a rolling restart of every pod (replicas first, the primary last).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mysql_cluster.validation import Problems

KEY = "serverConfig"

_IDENTITY = "set per pod by init-config.sh (server_id = serverIdOffset + ordinal, DNS name, port)"
_PATHS = "the cluster's volumes and sockets; the scripts depend on them"
_GTID = "GTID replication is how replicas find their position after a restart or a clone"
_BINLOG = "replicas are seeded from and replicate binary logs; clones from replicas need them"
_READ_ONLY = "the cluster keeps replicas read-only and the primary writable by itself"
_REPLICA_START = "the sidecar starts replication after checking its source"
_SECURITY = "it would let clients or files bypass the cluster's accounts and read-only design"
_NETWORK = "replicas, probes and Services reach the server over the network on the cluster's port"

# Option names as the server normalises them (lower case, `-` as `_`), after the prefixes the server also
# accepts (`loose_`, `skip_`, `enable_`, `disable_`, `maximum_`), which would otherwise sneak them in.
MANAGED: Mapping[str, str] = {
    **dict.fromkeys(("server_id", "report_host", "report_port", "port"), _IDENTITY),
    **dict.fromkeys(
        ("datadir", "socket", "pid_file", "tmpdir", "innodb_data_home_dir", "innodb_log_group_home_dir",
         "log_bin_index", "relay_log", "relay_log_index", "relay_log_info_file", "master_info_file"),
        _PATHS,
    ),
    **dict.fromkeys(
        ("gtid_mode", "enforce_gtid_consistency", "gtid_strict_mode", "gtid_domain_id",
         "gtid_pos_auto_engines", "relay_log_recovery", "relay_log_purge"),
        _GTID,
    ),
    **dict.fromkeys(("log_bin", "log_slave_updates", "log_replica_updates", "sql_log_bin"), _BINLOG),
    **dict.fromkeys(("read_only", "super_read_only"), _READ_ONLY),
    **dict.fromkeys(("slave_start", "replica_start"), _REPLICA_START),
    **dict.fromkeys(
        ("secure_file_priv", "grant_tables", "init_file", "plugin_load", "plugin_load_add", "plugin_dir",
         "local_infile", "default_authentication_plugin", "authentication_policy", "symbolic_links"),
        _SECURITY,
    ),
    **dict.fromkeys(("networking", "bind_address", "name_resolve"), _NETWORK),
}  # fmt: skip
_PREFIXES = ("loose_", "skip_", "enable_", "disable_", "maximum_")
# Options of the plugins the server loads with plugin_load_add (MySQL's CLONE plugin: clone_max_data_bandwidth
# and the like). `mysqld --initialize` loads no plugin and refuses an option it does not know, and every pod's
# my.cnf is read by an initialisation (the first primary's, each CLONE recipient's private server), so these
# are written with `loose_`: the initialisation passes over them, the servers that load the plugin apply them
# (and MariaDB, which has no CLONE plugin, ignores them with a warning).
_PLUGIN_OPTIONS = ("clone_",)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
# A value is one line of printable text: option files have no escapes for line breaks, and `#` starts a
# comment only at the start of a line, so anything else is passed to the server as written.
_VALUE = re.compile(r"[^\x00-\x1f\x7f]{1,1024}")

ServerOptions = Mapping[str, str | int | bool]

# Options a server applies only when it initialises its data: started later with another value, it refuses
# to start (innodb_page_size; lower_case_table_names on MySQL) or no longer finds tables
# (lower_case_table_names on MariaDB). By canonical name: what is allowed, and the default (as the state
# ConfigMap records it).
INIT_ONLY: Mapping[str, tuple[str, str]] = {
    "lower_case_table_names": ("0 | 1 | 2", "0"),
    "innodb_page_size": ("4k | 8k | 16k | 32k | 64k, or the same in bytes (4096 ... 65536)", "16384"),
}
_PAGE_SIZES = (4096, 8192, 16384, 32768, 65536)


def canonical(option: str) -> str:
    """The name the server knows the option by: lower case, `_` for `-`, without the accepted prefixes."""
    name = option.lower().replace("-", "_")
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def rendered_name(option: str) -> str:
    """The option's name in custom.cnf: as written, lower case with `_`, `loose_` before a plugin's."""
    name = option.lower().replace("-", "_")
    if canonical(name).startswith(_PLUGIN_OPTIONS) and not name.startswith("loose_"):
        return f"loose_{name}"
    return name


def validate(problems: Problems, options: object) -> None:
    """Adds a problem per bad option: not a name, a value that is no single line, or an option the cluster
    manages itself (with the reason)."""
    if not isinstance(options, Mapping):
        problems.add(KEY, options, "an object of server options, such as {max_connections: 500}")
        return
    for option, value in options.items():
        key = f"{KEY}.{option}"
        if not isinstance(option, str) or not _NAME.fullmatch(option):
            problems.add(key, option, "an option name: letters, digits, '_' and '-', at most 64")
            continue
        reason = MANAGED.get(canonical(option))
        if reason is not None:
            problems.add(key, value, f"no option the cluster manages itself ({canonical(option)}: {reason})")
            continue
        if canonical(option) in INIT_ONLY:
            if init_only_value(canonical(option), value) is None:
                problems.add(key, value, INIT_ONLY[canonical(option)][0])
            continue
        if isinstance(value, bool) or (isinstance(value, int) and not isinstance(value, bool)):
            continue
        if not isinstance(value, str) or not _VALUE.fullmatch(value) or value != value.strip():
            problems.add(key, value, "a number, true/false, or one line of text (1 to 1024 characters)")


def init_only_value(option: str, value: object) -> str | None:
    """The normal form of a value of an initialisation-only option (`16k` -> `16384`); None when the server
    would refuse it."""
    if isinstance(value, bool):
        return None
    text = str(value).strip()
    if option == "lower_case_table_names":
        return text if text in ("0", "1", "2") else None
    match = re.fullmatch(r"([0-9]{1,6})([kK]?)", text)
    if match is None:
        return None
    size = int(match[1]) * (1024 if match[2] else 1)
    return str(size) if size in _PAGE_SIZES else None


def init_only_options(options: ServerOptions) -> dict[str, str]:
    """Each initialisation-only option's value in normal form (its default when not set): the last spelling
    of it that `render` writes, which is the one the server applies."""
    values = {option: default for option, (_allowed, default) in INIT_ONLY.items()}
    for option in sorted(options, key=canonical):
        name = canonical(option)
        if name in INIT_ONLY:
            values[name] = init_only_value(name, options[option]) or str(options[option])
    return values


def render(options: ServerOptions) -> str | None:
    """The `custom.cnf` of these (validated) options, in a stable order; None when there are none."""
    if not options:
        return None
    lines = [
        "# Rendered by mysql_cluster/server_config.py from the stack's serverConfig; init-config.sh",
        "# appends it after the flavor's files and before the pod's identity.",
        "[mysqld]",
    ]
    for option in sorted(options, key=canonical):
        value = options[option]
        text = ("ON" if value else "OFF") if isinstance(value, bool) else str(value)
        lines.append(f"{rendered_name(option)} = {text}")
    return "\n".join(lines) + "\n"
