"""MariaDB 10.11, 11.4 and 11.8 (LTS releases): server options, statements and tools.

What changed between them and matters here (each checked against a real 10.11 and 11.8 server in the
script tier):
- 11.1 renamed the backup's metadata files from `xtrabackup_*` to `mariadb_backup_*` (MDEV-18931);
- 11.4 turns TLS on with a self-signed certificate, and replicas verify the source's certificate by default;
- from 11.0 `SUPER` no longer includes the replication privileges (`REPLICATION SLAVE ADMIN`,
  `BINLOG ADMIN`, ...): root@'%' gets ALL PRIVILEGES and root@localhost has them from the installation.
"""

from __future__ import annotations

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

VERSIONS = ("10.11", "11.4", "11.8")

# BACKUP STAGE and FLUSH (RELOAD), the InnoDB status (PROCESS), non-InnoDB tables (LOCK TABLES), the binlog
# position (BINLOG MONITOR) and, for --slave-info, SHOW SLAVE STATUS (SLAVE MONITOR).
BACKUP_GRANTS = ("RELOAD", "PROCESS", "LOCK TABLES", "BINLOG MONITOR", "SLAVE MONITOR")


def _cnf(version: str) -> tuple[str, str, str]:
    common = f"""\
# Rendered by mysql_cluster/flavors for MariaDB {version}: options of every pod.
[mysqld]
# Identity (server_id, report_host), port, socket and datadir are appended by init-config.sh.
skip_name_resolve = ON
host_cache_size = 0
# GTID replication (MariaDB GTIDs, one domain): replicas position themselves from gtid_slave_pos.
log_bin = mysql-bin
relay_log = relay-bin
binlog_format = ROW
log_slave_updates = ON
gtid_strict_mode = ON
binlog_expire_logs_seconds = {BINLOG_EXPIRE_SECONDS}
sync_binlog = 1
innodb_flush_log_at_trx_commit = 1
# Crash-safe replicas: gtid_slave_pos lives in InnoDB, relay logs are fetched again after a crash.
relay_log_recovery = ON
# Parallel replication, as MySQL does by default (4 workers, commit order preserved): 4 worker threads apply
# transactions optimistically (a conflict is rolled back and retried in order) and commit them in the
# primary's order, so a replica keeps up with a primary that commits from many sessions at once.
slave_parallel_threads = 4
slave_parallel_mode = optimistic
# The sidecar decides when replication starts, after it has checked and (re)pointed the source.
skip_slave_start = ON
# Every pod boots read-only; primary.cnf lifts it on ordinal 0 only.
read_only = ON
character_set_server = utf8mb4
"""
    primary = f"""\
# Rendered by mysql_cluster/flavors for MariaDB {version}: options of the primary (ordinal 0).
[mysqld]
read_only = OFF
"""
    replica = f"""\
# Rendered by mysql_cluster/flavors for MariaDB {version}: options of replicas (ordinal > 0).
[mysqld]
# MariaDB has no super_read_only: accounts with READ_ONLY ADMIN write through read_only. Only
# root@localhost (the unix socket inside the pod: the scripts, kubectl exec) holds it; root@'%', the
# account clients use over the network, does not, so replicas reject every client write.
read_only = ON
"""
    return common, primary, replica


def mariadb_flavor(version: str) -> Flavor:
    """MariaDB at `version` (one of `VERSIONS`)."""
    prefix = "xtrabackup" if version == "10.11" else "mariadb_backup"
    common, primary, replica = _cnf(version)
    return Flavor(
        name="mariadb",
        version=version,
        default_image=f"mariadb:{version}",
        default_backup_image=f"mariadb:{version}",
        run_as_user=MYSQL_UID,
        run_as_group=MYSQL_UID,
        server_binary="mariadbd",
        client_binary="mariadb",
        admin_binary="mariadb-admin",
        upgrade_binary="mariadb-upgrade",
        seeding="backup-stream",
        install_db_binary="mariadb-install-db",
        backup_binary="mariadb-backup",
        stream_binary="mbstream",
        backup_grants=BACKUP_GRANTS,
        backup_table_grants=(),
        backup_replica_info_option="--slave-info",
        backup_binlog_info_file=f"{prefix}_binlog_info",
        backup_replica_info_file=f"{prefix}_slave_info",
        backup_checkpoints_file=f"{prefix}_checkpoints",
        backup_info_file=f"{prefix}_info",
        backup_prepared_type="log-applied",
        replica_info_gtid_variable="gtid_slave_pos",
        show_replica_status="SHOW SLAVE STATUS",
        io_running_column="Slave_IO_Running",
        sql_running_column="Slave_SQL_Running",
        lag_column="Seconds_Behind_Master",
        source_host_column="Master_Host",
        source_port_column="Master_Port",
        source_user_column="Master_User",
        auto_position_column="Using_Gtid",
        auto_position_value="Slave_Pos",
        last_io_errno_column="Last_IO_Errno",
        source_purged_errno="1236",  # ER_MASTER_FATAL_ERROR_READING_BINLOG
        last_io_error_column="Last_IO_Error",
        last_sql_errno_column="Last_SQL_Errno",
        last_sql_error_column="Last_SQL_Error",
        applier_errors_sql="",  # Last_SQL_Error carries the applier's own error
        received_gtid_column="Gtid_IO_Pos",
        # MASTER_GTID_WAIT compares sequence numbers per domain with @@gtid_slave_pos: 0 reached, -1 not.
        caught_up_sql="SELECT MASTER_GTID_WAIT({{RECEIVED}}, {{SECONDS}});",
        net_timeout_variable="slave_net_timeout",
        gtid_executed_variable="gtid_current_pos",
        gtid_purged_variable=None,
        gtid_history_variable="gtid_binlog_state",
        server_uuid_variable=None,
        read_only_variables=("read_only",),
        stop_replica="STOP SLAVE",
        start_replica="START SLAVE",
        start_applier="START SLAVE SQL_THREAD",
        stop_receiver="STOP SLAVE IO_THREAD",
        start_receiver="START SLAVE IO_THREAD",
        reset_replica_all="RESET SLAVE ALL",
        show_binary_log_status="SHOW MASTER STATUS",
        change_source=(
            "CHANGE MASTER TO MASTER_HOST = {{SOURCE_HOST}}, MASTER_PORT = {{SOURCE_PORT}}, "
            "MASTER_USER = {{REPLICATION_USER}}, MASTER_PASSWORD = {{REPLICATION_PASSWORD}}, "
            f"MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = {CONNECT_RETRY_SECONDS}, "
            "MASTER_HEARTBEAT_PERIOD = {{HEARTBEAT_PERIOD}};"
        ),
        # CHANGE MASTER refuses to run beside a running applier (1198), even for the password alone.
        change_source_credentials="",
        # Needs READ_ONLY ADMIN on a read-only replica: the sidecar runs it as root@localhost.
        apply_gtid_position="SET GLOBAL gtid_slave_pos = {{GTID_POSITION}};",
        enforce_read_only="SET GLOBAL read_only = ON",
        # gtid_binlog_state may only be set on empty binary logs; replicas asking for the last GTID of the
        # state then resume from the new primary's first event.
        seed_primary_gtid=(
            "RESET SLAVE ALL;\nRESET MASTER;\nSET GLOBAL gtid_binlog_state = {{GTID_POSITION}};"
        ),
        gtid_domain_option="--gtid-domain-id",
        gtid_order="domain-seq",
        gtid_subset_sql="",
        gtid_subtract_sql="",
        # A binlog state item is domain-server-seq: "-<server_id>-" matches the server id field only.
        own_transactions_sql=(
            "SELECT LOCATE(CONCAT(CHAR(45), @@GLOBAL.server_id, CHAR(45)), @@GLOBAL.gtid_binlog_state) > 0;"
        ),
        clone_instance="",  # seeded by mariadb-backup streamed by the donor's sidecar
        peer_unapplied_sql="",
        # What a replica received (a re-seed ranks replicas by it): SHOW SLAVE STATUS needs SLAVE MONITOR.
        replication_monitor_grant="GRANT SLAVE MONITOR ON *.* TO {{REPLICATION_USER}}@`%`;",
        replication_monitor_granted="SLAVE MONITOR",
        local_admin=local_admin("VIA unix_socket"),
        # MariaDB binlogs ALTER USER as given: the passwords travel as the hashes it stores
        # (mysql_native_password, each account's plugin since `init_accounts`).
        rotate_passwords=rotate_passwords(hashed=True),
        # replicate_events_marked_for_skip: FILTER_ON_* drops what a client of the primary marked with
        # @@skip_replication.
        apply_strict_variables=(
            ("slave_exec_mode", "STRICT"),
            ("slave_skip_errors", "OFF"),
            ("replicate_events_marked_for_skip", "REPLICATE"),
        ),
        init_passwords=rotate_passwords(),
        backup_host="localhost",
        backup_account=backup_account("localhost", "", BACKUP_GRANTS, (), hashed=True),
        account_hashes_sql=(
            "SELECT PASSWORD({{ROOT_PASSWORD}}), PASSWORD({{REPLICATION_PASSWORD}}),"
            " PASSWORD({{BACKUP_PASSWORD}});"
        ),
        init_accounts=init_accounts(
            # SUPER no longer implies READ_ONLY ADMIN (10.11+), but ALL PRIVILEGES does: take it back from
            # the network account so that read_only binds it on replicas.
            # FILE: no server-side file reads or writes from the network (secure_file_priv confines the rest).
            root_extra="REVOKE READ_ONLY ADMIN, FILE ON *.* FROM `root`@`%`;\n",
            replication_require="",
            backup_grants=BACKUP_GRANTS,
            local_admin=local_admin("VIA unix_socket"),
            replication_monitor_grant="GRANT SLAVE MONITOR ON *.* TO {{REPLICATION_USER}}@`%`;",
            backup_table_grants=(),
        ),
        common_cnf=common,
        primary_cnf=primary,
        replica_cnf=replica,
    )
