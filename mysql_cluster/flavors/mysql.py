"""MySQL 8.4 LTS and 9.7 LTS: server options, statements and tools.

Both take the same statements for everything this project emits (the `REPLICA`/`SOURCE` forms, `SHOW BINARY
LOG STATUS` and `RESET BINARY LOGS AND GTIDS` exist from 8.2; 8.4 removed the old forms). They differ in how
a replica is seeded: Percona XtraBackup has an 8.4 line but no 9.x release, so 9.7 uses the server's own
CLONE plugin. MySQL 8.0 reached its end of life in April 2026 and is refused (`RETIRED` in `__init__.py`).
"""

from __future__ import annotations

from typing import TypedDict

from mysql_cluster.flavors.model import (
    BINLOG_EXPIRE_SECONDS,
    CONNECT_RETRY_SECONDS,
    MYSQL_UID,
    Flavor,
    backup_account,
    init_accounts,
    local_admin,
    rotate_passwords,
)

VERSIONS = ("8.4", "9.7")

# Percona XtraBackup 8.4: LOCK INSTANCE FOR BACKUP (BACKUP_ADMIN), FLUSH (RELOAD), LOCK TABLES for non-InnoDB
# tables, PROCESS for the InnoDB status, REPLICATION CLIENT for SHOW REPLICA STATUS, and the
# performance_schema tables it reads the binlog/GTID position and keyring/group state from.
BACKUP_GRANTS = ("BACKUP_ADMIN", "PROCESS", "RELOAD", "LOCK TABLES", "REPLICATION CLIENT")
BACKUP_TABLE_GRANTS = (
    "performance_schema.log_status",
    "performance_schema.keyring_component_status",
    "performance_schema.replication_group_members",
)
# The CLONE plugin's donor side needs BACKUP_ADMIN and nothing more; the recipient runs CLONE INSTANCE as
# root@localhost of its private server (CLONE_ADMIN is part of root's ALL PRIVILEGES).
CLONE_GRANTS = ("BACKUP_ADMIN",)

# Run by root@localhost on the recipient's private server. The donor list admits exactly the chosen donor;
# REQUIRE SSL, or the plugin silently falls back to plain text; DATA DIRECTORY clones beside the private
# server's own datadir, so nothing restarts (no MYSQLD_PARENT_PID supervisor, no error 3707) and the copy
# is moved into place only when complete. The GTID state (gtid_executed) and, from a replica, its
# replication metadata arrive with the data; auto.cnf does not, so the clone gets its own server_uuid.
CLONE_INSTANCE = (
    "SET GLOBAL clone_valid_donor_list = {{DONOR_ADDRESS}};\n"
    "CLONE INSTANCE FROM {{BACKUP_USER}}@{{DONOR_HOST}}:{{DONOR_PORT}} IDENTIFIED BY {{BACKUP_PASSWORD}} "
    "DATA DIRECTORY = {{DATA_DIRECTORY}} REQUIRE SSL;"
)


# What a replica received (a re-seed ranks replicas by it and waits until they applied it): one table.
MONITOR_GRANT = (
    "GRANT SELECT ON performance_schema.replication_connection_status TO {{REPLICATION_USER}}@`%`;"
)


def _cnf(version: str, clone_plugin: bool) -> tuple[str, str, str]:
    # Any pod may donate a clone: the plugin is loaded on every pod.
    plugins = "# Seeding: the CLONE plugin.\nplugin_load_add = mysql_clone.so\n"
    common = f"""\
# Rendered by mysql_cluster/flavors for MySQL {version}: options of every pod.
[mysqld]
# Identity (server_id, report_host), port, socket and datadir are appended by init-config.sh.
skip_name_resolve = ON
host_cache_size = 0
# GTID replication: every transaction carries a GTID, replicas position themselves automatically.
log_bin = binlog
relay_log = relay-bin
gtid_mode = ON
enforce_gtid_consistency = ON
log_replica_updates = ON
binlog_expire_logs_seconds = {BINLOG_EXPIRE_SECONDS}
sync_binlog = 1
innodb_flush_log_at_trx_commit = 1
# Crash-safe replicas: relay logs are discarded at start and fetched again from the GTID position.
relay_log_recovery = ON
# The sidecar decides when replication starts, after it has checked and (re)pointed the source.
skip_replica_start = ON
# Every pod boots read-only; primary.cnf lifts it on ordinal 0 only.
read_only = ON
super_read_only = ON
# Classic protocol only; no server-side file import/export.
mysqlx = OFF
secure_file_priv = NULL
character_set_server = utf8mb4
# The pod's scripts and probes log in over the socket as the server's OS user (no password to rotate).
plugin_load_add = auth_socket.so
{plugins if clone_plugin else ""}"""
    primary = f"""\
# Rendered by mysql_cluster/flavors for MySQL {version}: options of the primary (ordinal 0).
[mysqld]
super_read_only = OFF
read_only = OFF
"""
    replica = f"""\
# Rendered by mysql_cluster/flavors for MySQL {version}: options of replicas (ordinal > 0).
[mysqld]
# super_read_only: not even accounts with CONNECTION_ADMIN/SUPER (root) write on a replica.
read_only = ON
super_read_only = ON
"""
    return common, primary, replica


class _BackupTool(TypedDict):
    seeding: str
    backup_grants: tuple[str, ...]
    backup_table_grants: tuple[str, ...]
    clone_instance: str
    default_backup_image: str
    backup_binary: str
    stream_binary: str
    backup_replica_info_option: str
    backup_binlog_info_file: str
    backup_replica_info_file: str
    backup_checkpoints_file: str
    backup_info_file: str
    backup_prepared_type: str


def _backup_tool(version: str) -> _BackupTool:
    """The physical backup tool's programs and files: XtraBackup for 8.4, none for 9.7 (CLONE plugin)."""
    if version == "8.4":
        return {
            "seeding": "backup-stream",
            "backup_grants": BACKUP_GRANTS,
            "backup_table_grants": BACKUP_TABLE_GRANTS,
            "clone_instance": "",
            "default_backup_image": f"percona/percona-xtrabackup:{version}",
            "backup_binary": "xtrabackup",
            "stream_binary": "xbstream",
            # XtraBackup 8.4 still names the option and the file "slave" (the server statements changed).
            "backup_replica_info_option": "--slave-info",
            "backup_binlog_info_file": "xtrabackup_binlog_info",
            "backup_replica_info_file": "xtrabackup_slave_info",
            "backup_checkpoints_file": "xtrabackup_checkpoints",
            "backup_info_file": "xtrabackup_info",
            "backup_prepared_type": "full-prepared",
        }
    # The CLONE plugin ships with the server: the server image serves every container.
    return {
        "seeding": "clone-plugin",
        "backup_grants": CLONE_GRANTS,
        "backup_table_grants": (),
        "clone_instance": CLONE_INSTANCE,
        "default_backup_image": f"mysql:{version}",
        "backup_binary": "",
        "stream_binary": "",
        "backup_replica_info_option": "",
        "backup_binlog_info_file": "",
        "backup_replica_info_file": "",
        "backup_checkpoints_file": "",
        "backup_info_file": "",
        "backup_prepared_type": "",
    }


def mysql_flavor(version: str) -> Flavor:
    """MySQL at `version` (one of `VERSIONS`)."""
    tool = _backup_tool(version)
    clone_plugin = tool["seeding"] == "clone-plugin"
    # XtraBackup connects over the socket; the CLONE plugin's recipient over the network.
    backup_host = "%" if clone_plugin else "localhost"
    common, primary, replica = _cnf(version, clone_plugin)
    return Flavor(
        name="mysql",
        version=version,
        default_image=f"mysql:{version}",
        run_as_user=MYSQL_UID,
        run_as_group=MYSQL_UID,
        server_binary="mysqld",
        client_binary="mysql",
        admin_binary="mysqladmin",
        upgrade_binary="",
        install_db_binary="",
        replica_info_gtid_variable="gtid_purged",
        show_replica_status="SHOW REPLICA STATUS",
        io_running_column="Replica_IO_Running",
        sql_running_column="Replica_SQL_Running",
        lag_column="Seconds_Behind_Source",
        source_host_column="Source_Host",
        source_port_column="Source_Port",
        source_user_column="Source_User",
        auto_position_column="Auto_Position",
        auto_position_value="1",
        last_io_errno_column="Last_IO_Errno",
        source_purged_errno="13114",  # ER_SERVER_SOURCE_FATAL_ERROR_READING_BINLOG ("fatal error 1236")
        last_io_error_column="Last_IO_Error",
        last_sql_errno_column="Last_SQL_Errno",
        last_sql_error_column="Last_SQL_Error",
        applier_errors_sql=(
            "SELECT LAST_ERROR_NUMBER AS errno, LAST_ERROR_MESSAGE AS message "
            "FROM performance_schema.replication_applier_status_by_worker "
            "WHERE LAST_ERROR_NUMBER <> 0 ORDER BY LAST_ERROR_TIMESTAMP DESC"
        ),
        received_gtid_column="Retrieved_Gtid_Set",
        # The receiver's set from performance_schema (its replication tables answer with it turned off too):
        # one value, where the status column spans lines. 0: reached; 1: not within the time.
        caught_up_sql=(
            "SELECT WAIT_FOR_EXECUTED_GTID_SET(RECEIVED_TRANSACTION_SET, {{SECONDS}}) "
            "FROM performance_schema.replication_connection_status WHERE CHAR_LENGTH(CHANNEL_NAME) = 0;"
        ),
        net_timeout_variable="replica_net_timeout",
        gtid_executed_variable="gtid_executed",
        gtid_purged_variable="gtid_purged",
        gtid_history_variable="gtid_executed",
        server_uuid_variable="server_uuid",
        read_only_variables=("read_only", "super_read_only"),
        stop_replica="STOP REPLICA",
        start_replica="START REPLICA",
        start_applier="START REPLICA SQL_THREAD",
        stop_receiver="STOP REPLICA IO_THREAD",
        start_receiver="START REPLICA IO_THREAD",
        reset_replica_all="RESET REPLICA ALL",
        show_binary_log_status="SHOW BINARY LOG STATUS",
        # caching_sha2_password (the only password plugin of 9.x) sends the password only over TLS or
        # RSA-encrypted with the source's public key. SOURCE_SSL = 1: the whole stream (rows, the password
        # exchange) is encrypted with the certificate every server generates at initialisation;
        # GET_SOURCE_PUBLIC_KEY would trust a key fetched over the same unverified channel and still
        # replicate in plain text. The replication account REQUIRES SSL, so no replica falls back.
        # SOURCE_RETRY_COUNT: the default (10) gives up after minutes; a replica should wait for its
        # primary for as long as it takes (here 10 days).
        change_source=(
            "CHANGE REPLICATION SOURCE TO SOURCE_HOST = {{SOURCE_HOST}}, SOURCE_PORT = {{SOURCE_PORT}}, "
            "SOURCE_USER = {{REPLICATION_USER}}, SOURCE_PASSWORD = {{REPLICATION_PASSWORD}}, "
            "SOURCE_AUTO_POSITION = 1, SOURCE_SSL = 1, "
            f"SOURCE_CONNECT_RETRY = {CONNECT_RETRY_SECONDS}, SOURCE_RETRY_COUNT = 86400, "
            "SOURCE_HEARTBEAT_PERIOD = {{HEARTBEAT_PERIOD}};"
        ),
        change_source_credentials=(
            "CHANGE REPLICATION SOURCE TO SOURCE_USER = {{REPLICATION_USER}}, "
            "SOURCE_PASSWORD = {{REPLICATION_PASSWORD}};"
        ),
        # gtid_purged can only be set on an empty gtid_executed: reset first. super_read_only is lifted for
        # these two statements only (read_only stays ON, so ordinary accounts still cannot write), and the
        # sidecar re-asserts it in a separate session even when a statement here failed.
        apply_gtid_position=(
            "SET GLOBAL super_read_only = OFF;\n"
            "RESET BINARY LOGS AND GTIDS;\n"
            "SET GLOBAL gtid_purged = {{GTID_POSITION}};\n"
            "SET GLOBAL super_read_only = ON;"
        ),
        enforce_read_only="SET GLOBAL super_read_only = ON",
        seed_primary_gtid=(
            "RESET REPLICA ALL;\nRESET BINARY LOGS AND GTIDS;\nSET GLOBAL gtid_purged = {{GTID_POSITION}};"
        ),
        gtid_domain_option="",
        gtid_order="subset-sql",
        gtid_subset_sql="SELECT GTID_SUBSET({{GTID_A}}, {{GTID_B}});",
        gtid_subtract_sql="SELECT GTID_SUBTRACT({{GTID_A}}, {{GTID_B}});",
        own_transactions_sql="SELECT LOCATE(@@GLOBAL.server_uuid, @@GLOBAL.gtid_executed) > 0;",
        # The network root may neither lift super_read_only (SYSTEM_VARIABLES_ADMIN, SUPER) nor read or
        # write server-side files (FILE).
        peer_unapplied_sql=(
            "SELECT REPLACE(IFNULL(GTID_SUBTRACT((SELECT GROUP_CONCAT(RECEIVED_TRANSACTION_SET) FROM "
            "performance_schema.replication_connection_status), @@GLOBAL.gtid_executed), SPACE(0)), "
            "CHAR(10), SPACE(0));"
        ),
        replication_monitor_grant=MONITOR_GRANT,
        replication_monitor_granted="`replication_connection_status`",
        local_admin=local_admin("WITH auth_socket"),
        rotate_passwords=rotate_passwords(backup_host=backup_host),
        apply_strict_variables=(("replica_exec_mode", "STRICT"), ("replica_skip_errors", "OFF")),
        init_passwords=rotate_passwords(backup_host=backup_host),
        backup_host=backup_host,
        backup_account=backup_account(
            backup_host,
            " REQUIRE SSL" if clone_plugin else "",
            tool["backup_grants"],
            tool["backup_table_grants"],
            hashed=False,
        ),
        account_hashes_sql="",  # MySQL rewrites a password into its hash before the statement is logged
        init_accounts=init_accounts(
            root_extra="REVOKE SYSTEM_VARIABLES_ADMIN, SUPER, FILE ON *.* FROM `root`@`%`;\n",
            replication_require=" REQUIRE SSL",
            backup_grants=tool["backup_grants"],
            local_admin=local_admin("WITH auth_socket"),
            replication_monitor_grant=MONITOR_GRANT,
            backup_table_grants=tool["backup_table_grants"],
            backup_host=backup_host,
            backup_require=" REQUIRE SSL" if clone_plugin else "",
        ),
        common_cnf=common,
        primary_cnf=primary,
        replica_cnf=replica,
        **tool,
    )
