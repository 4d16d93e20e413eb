"""The server options `serverConfig` refuses, and how the servers read an option's name.

Both servers (my_getopt) read a name case-insensitively, `-` and `_` alike, and when no option has it, strip
a leading `loose_`, `skip_`, `enable_`, `disable_` or `maximum_` (MariaDB also `autoset_`) and look again, as
often as it takes: `loose_loose_init_file` is init_file, `enable_loose_super_read_only = 0` turns
super_read_only off. MariaDB also reads a unique prefix of a name as the option (`read_onl` is read_only;
MySQL 8.0 and later refuse that), and every plugin option also answers to `plugin_<name>`.

No list holds every option of every server build, so a name is refused when ANY of its readings (as written,
then after each prefix a server may strip) is an option below, one of a refused family (`replicate_*`), a
file or directory option (`*_file`, `*_dir`, ...), or a strict prefix of any of these (what MariaDB reads as
that option), unless that prefix is itself the full name of an option every supported MariaDB has
(`general_log` is not `general_log_file`). The script tier checks these tables against the real servers'
option lists (tests/scripts/test_server_options.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# my_getopt's special prefixes (MySQL's and MariaDB's; `autoset` is MariaDB's alone).
PREFIXES = ("loose", "skip", "enable", "disable", "maximum", "autoset")

_IDENTITY = "set per pod by init-config.sh (server_id = serverIdOffset + ordinal, DNS name, port)"
_PATHS = (
    "a file or directory: the cluster's volumes hold its data, binary logs, clone position and sockets, "
    "which the scripts depend on and no other file may overwrite or fill"
)
_GTID = "GTID replication is how replicas find their position after a restart or a clone"
_BINLOG = "replicas are seeded from and replicate binary logs; clones from replicas need them"
_FILTERS = (
    "every replica applies every transaction of the primary: no filter, rewrite, skipped error or own SQL"
)
_READ_ONLY = "the cluster keeps replicas read-only and the primary writable by itself"
_REPLICA_START = "the sidecar starts replication after checking its source"
_SECURITY = "it would let clients, files or code bypass the cluster's accounts and read-only design"
_PLUGINS = "plugins are the cluster's, and plugin_<option> is another name of every plugin's option"
_NETWORK = "replicas, probes and Services reach the server over the network on the cluster's port"
_START = "the scripts decide how the server starts, initialises and recovers"
_DEBUG = "debugging options trade the cluster's guarantees away (debug_no_sync: no fsync)"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True)
class Rule:
    """Options refused for one reason: by name (the servers' own names, `_` for `-`) or by family."""

    reason: str
    names: frozenset[str]
    families: tuple[str, ...] = ()  # every option whose name starts with one of these


RULES = (
    Rule(_IDENTITY, _words("server_id report_host report_port report_user report_password port")),
    Rule(
        _GTID,
        _words("enforce_gtid_consistency relay_log_recovery relay_log_purge tc_heuristic_recover"),
        ("gtid_",),
    ),
    Rule(_BINLOG, _words("log_bin log_slave_updates log_replica_updates sql_log_bin")),
    Rule(
        _FILTERS,
        _words("""
            binlog_do_db binlog_ignore_db slave_skip_errors replica_skip_errors slave_exec_mode
            replica_exec_mode slave_ddl_exec_mode sql_slave_skip_counter sql_replica_skip_counter init_slave
            init_replica init_rpl_role slave_run_triggers_for_rbr
        """),
        ("replicate_",),
    ),
    Rule(_READ_ONLY, _words("read_only super_read_only")),
    Rule(_REPLICA_START, _words("slave_start replica_start skip_slave_start skip_replica_start")),
    Rule(
        _SECURITY,
        _words("""
            secure_file_priv grant_tables skip_grant_tables init_file local_infile
            default_authentication_plugin authentication_policy symbolic_links allow_suspicious_udfs user
            chroot log_raw auth_socket unix_socket
        """),
        ("keyring_", "wsrep_"),
    ),
    Rule(_PLUGINS, _words("early_plugin_load clone"), ("plugin_",)),
    Rule(
        _NETWORK,
        _words("""
            networking skip_networking bind_address name_resolve skip_name_resolve extra_port admin_address
            admin_port create_admin_listener_thread proxy_protocol_networks mysqlx
        """),
        ("mysqlx_",),
    ),
    Rule(
        _START,
        _words("bootstrap initialize initialize_insecure upgrade validate_config daemonize help version"),
    ),
    Rule(_DEBUG, _words("debug gdb exit_info"), ("debug_",)),
)

# Options naming files and directories: any name of this form, and these (every one the supported servers
# list in `--help --verbose`, so that MariaDB's abbreviations of them are refused too).
_PATH_FORM = re.compile(r"(?:^|_|tmp)(?:dir|directory|file|path|filename|basename)$")
_NOT_PATHS = _words("aria_sync_log_dir")  # when to fsync Aria's log directory
PATH_NAMES = _words("""
    basedir datadir tmpdir language innodb_tmpdir slave_load_tmpdir replica_load_tmpdir socket pid_file
    character_sets_dir lc_messages_dir des_key_file ft_stopword_file log_error log_basename log_bin_index
    log_isam log_tc log_ddl_recovery general_log_file slow_query_log_file log_slow_query_file relay_log
    relay_log_index relay_log_info_file master_info_file innodb_data_home_dir innodb_data_file_path
    innodb_log_group_home_dir innodb_undo_directory innodb_temp_data_file_path innodb_temp_tablespaces_dir
    innodb_doublewrite_dir innodb_buffer_pool_filename innodb_status_file innodb_buffer_pool_in_core_file
    core_file aria_log_dir_path innodb_directories innodb_redo_log_archive_dirs ndb_tls_search_path
    caching_sha2_password_private_key_path caching_sha2_password_public_key_path
    sha256_password_private_key_path sha256_password_public_key_path
""")

# Full names of options of every supported MariaDB that are strict prefixes of a refused name: MariaDB reads
# them as themselves, never as the longer option.
FULL_NAMES = _words("general_log slow_query_log log_slow_query innodb innodb_doublewrite lc_messages")


@dataclass(frozen=True)
class Refusal:
    """Why a name is refused: how a server reads it, the refused option (or family) that is, and why."""

    reading: str
    option: str
    reason: str
    abbreviation: bool = False


def normalized(option: str) -> str:
    """The name as both servers compare it: lower case, `_` for `-`."""
    return option.lower().replace("-", "_")


def readings(option: str) -> list[str]:
    """Every name a server may look the option up by: as written, then after each prefix it strips."""
    name = normalized(option)
    found = [name]
    while "_" in name and (head := name.split("_", 1)[0]) in PREFIXES:
        name = name[len(head) + 1 :]
        found.append(name)
    return found


def resolved(option: str) -> str:
    """The name once every prefix is stripped (`loose_skip_slave_start` -> `slave_start`)."""
    return readings(option)[-1]


def _by_rule(name: str) -> tuple[str, str] | None:
    for rule in RULES:
        if name in rule.names:
            return name, rule.reason
        for stem in rule.families:
            if name.startswith(stem):
                return f"{stem}*", rule.reason
    return None


def _by_path(name: str) -> tuple[str, str] | None:
    if name in PATH_NAMES or (_PATH_FORM.search(name) and name not in _NOT_PATHS):
        return name, _PATHS
    return None


def _abbreviated(name: str) -> tuple[str, str] | None:
    """The refused option `name` is a strict prefix of (MariaDB reads a unique prefix as the option)."""
    if name in FULL_NAMES:
        return None
    for rule in RULES:
        for target in sorted(rule.names):
            if target != name and target.startswith(name):
                return target, rule.reason
        for stem in rule.families:
            if stem.startswith(name):
                return f"{stem}*", rule.reason
    for target in sorted(PATH_NAMES):
        if target != name and target.startswith(name):
            return target, _PATHS
    return None


def refusal(option: str) -> Refusal | None:
    """Why `option` is refused, or None: the first of its readings (in the order the servers try them) that
    is a refused option, else one that names a file, else one that begins either."""
    for check in (_by_rule, _by_path):
        for reading in readings(option):
            if (found := check(reading)) is not None:
                return Refusal(reading, *found)
    for reading in readings(option):
        if (found := _abbreviated(reading)) is not None:
            return Refusal(reading, *found, abbreviation=True)
    return None
