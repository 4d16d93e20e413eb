"""Spellings of server options that `serverConfig` must refuse (issue 17, defect 3), each with what a real
server makes of it: the unit tier refuses every one (tests/unit/test_server_options.py), the script tier
shows each reaching the option it names on the servers listed (tests/scripts/test_server_options.py).

The servers read an option name case-insensitively with `-` and `_` alike; when no option has the name, they
strip a leading `loose_`, `skip_`, `enable_`, `disable_` or `maximum_` (MariaDB also `autoset_`) and look
again, as often as it takes; MariaDB also reads a unique prefix of an option's name as the option.
"""

from __future__ import annotations

from dataclasses import dataclass

MARIADB = ("mariadb",)
MYSQL = ("mysql",)
BOTH = ("mariadb", "mysql")


@dataclass(frozen=True)
class Spelling:
    option: str  # the key as a user writes it under serverConfig
    value: str | int | bool
    variables: tuple[str, ...]  # what the server sets (as `--help --verbose` lists it): one of them changes
    flavors: tuple[str, ...] = BOTH  # the servers that read it so

    @property
    def label(self) -> str:
        return f"{self.option}={self.value}"


SPELLINGS = [
    # Prefixes stripped again and again (the spellings first).
    Spelling("loose_skip_grant_tables", True, ("skip-grant-tables",)),
    Spelling("loose_loose_super_read_only", "OFF", ("super-read-only",), MYSQL),
    Spelling("enable_loose_super_read_only", 0, ("super-read-only",), MYSQL),
    Spelling("loose_loose_read_only", "OFF", ("read-only",), MARIADB),  # MySQL: super_read_only holds it
    Spelling("enable_loose_read_only", 0, ("read-only",), MARIADB),
    Spelling("loose_disable_log_bin", True, ("log-bin",)),
    Spelling("loose_loose_init_file", "/var/lib/mysql/x.sql", ("init-file",)),
    Spelling("loose_loose_plugin_load_add", "ha_blackhole.so", ("blackhole",), MARIADB),
    Spelling("Loose-Enable-Skip-Slave-Start", 0, ("skip-slave-start",)),  # enable_ makes OFF mean ON
    Spelling("loose_loose_skip_networking", True, ("skip-networking",)),
    # MariaDB's unique prefixes of option names.
    Spelling("skip_grant_table", True, ("skip-grant-tables",), MARIADB),
    Spelling("read_onl", "OFF", ("read-only",), MARIADB),
    Spelling("init_fil", "/var/lib/mysql/x.sql", ("init-file",), MARIADB),
    Spelling("loose_read_o", "OFF", ("read-only",), MARIADB),
    Spelling("skip_name", "OFF", ("skip-name-resolve",), MARIADB),
    Spelling("gtid_strict", "OFF", ("gtid-strict-mode",), MARIADB),
    Spelling("log_slave_upd", "OFF", ("log-slave-updates",), MARIADB),
    Spelling("replicate_same", True, ("replicate-same-server-id",), MARIADB),
    Spelling("general_log_fil", "/var/lib/mysql/data/x", ("general-log-file",), MARIADB),
    # Plugin options also answer to `plugin_<name>` (MySQL's socket login of the pods' scripts).
    Spelling("plugin_auth_socket", "OFF", ("auth-socket",), MYSQL),
    Spelling("auth_socket", "OFF", ("auth-socket",), MYSQL),
    # Options the cluster did not manage that break its guarantees: replication filters and rewrites,
    # skipped errors, SQL run by the applier, files written where the cluster keeps its state.
    Spelling("replicate_do_db", "app", ("replicate-do-db",)),
    Spelling("replicate_ignore_db", "app", ("replicate-ignore-db",)),
    Spelling("replicate_do_table", "app.t", ("replicate-do-table",)),
    Spelling("replicate_ignore_table", "app.t", ("replicate-ignore-table",)),
    Spelling("replicate_wild_do_table", "app.%", ("replicate-wild-do-table",)),
    Spelling("replicate_wild_ignore_table", "app.%", ("replicate-wild-ignore-table",)),
    Spelling("replicate_rewrite_db", "app->other", ("replicate-rewrite-db",)),
    Spelling("replicate_same_server_id", True, ("replicate-same-server-id",)),
    Spelling("binlog_do_db", "app", ("binlog-do-db",)),
    Spelling("binlog_ignore_db", "app", ("binlog-ignore-db",)),
    Spelling("slave_skip_errors", "all", ("slave-skip-errors", "replica-skip-errors")),
    Spelling("loose_replica_skip_errors", "all", ("replica-skip-errors",), MYSQL),
    Spelling("slave_exec_mode", "IDEMPOTENT", ("slave-exec-mode", "replica-exec-mode")),
    Spelling("init_slave", "DELETE FROM app.t", ("init-slave", "init-replica")),
    Spelling("init_replica", "DELETE FROM app.t", ("init-replica",), MYSQL),
    Spelling("gtid_ignore_duplicates", True, ("gtid-ignore-duplicates",), MARIADB),
    Spelling("general_log_file", "/var/lib/mysql/data/ibdata1", ("general-log-file",)),
    Spelling("slow_query_log_file", "/var/lib/mysql/data/x", ("slow-query-log-file",)),
    Spelling("log_slow_query_file", "/var/lib/mysql/data/x", ("log-slow-query-file",), MARIADB),
    Spelling("log_basename", "/var/lib/mysql/data/x", ("log-basename",), MARIADB),
    Spelling("log_error", "/var/lib/mysql/x.err", ("log-error",), MARIADB),
    Spelling("innodb_tmpdir", "/var/lib/mysql", ("innodb-tmpdir",)),
    Spelling("tmpdir", "/var/lib/mysql", ("tmpdir",)),
    Spelling("tc_heuristic_recover", "ROLLBACK", ("tc-heuristic-recover",)),
]

# Values the option file would read otherwise than written: `#` ends the value (a comment), `\` starts an
# escape, quotes around a value are removed, a line break ends the line.
TRUNCATED = ("init_connect", "SET @a = 1 # b", "SET @a = 1")
BAD_VALUES = [
    TRUNCATED[1],
    "500 # connections",
    "#500",
    "C:\\new",
    "'500'",
    '"500"',
    "500\nread_only = OFF",
    "500\rread_only = OFF",
    "500\x00",
    "SET @a = \u00e0",  # UTF-8 C3 A0: the server trims A0 (a space in latin1)
]
# Values the option file reads as written (the script tier checks each on every server).
ACCEPTED_VALUES = ["SET NAMES utf8mb4", "SET @a = 'it''s'", 'SET @b = "q";SET @c = 1', "x = y", "it's", "6G"]
