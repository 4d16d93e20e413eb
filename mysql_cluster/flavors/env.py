"""`flavor.env`: the flavor's values as shell assignments, sourced by the container scripts (lib.sh)."""

from __future__ import annotations

from mysql_cluster.flavors.model import LOCAL_ADMIN_USER, Flavor


def flavor_env(flavor: Flavor) -> str:
    """Shell assignments (single-quoted, safe to `source`) of everything the scripts need."""
    values: list[tuple[str, str, str]] = [
        ("FLAVOR_NAME", flavor.name, "flavor and major version"),
        ("FLAVOR_VERSION", flavor.version, ""),
        ("SERVER_BIN", flavor.server_binary, "programs"),
        ("CLIENT_BIN", flavor.client_binary, ""),
        ("ADMIN_BIN", flavor.admin_binary, ""),
        ("UPGRADE_BIN", flavor.upgrade_binary, "empty: the server upgrades itself at startup"),
        ("INSTALL_DB_BIN", flavor.install_db_binary, "empty: `$SERVER_BIN --initialize-insecure`"),
        ("SEEDING", flavor.seeding, "backup-stream or clone-plugin"),
        ("BACKUP_BIN", flavor.backup_binary, ""),
        ("STREAM_BIN", flavor.stream_binary, ""),
        ("BACKUP_REPLICA_INFO_OPTION", flavor.backup_replica_info_option, "backup files and options"),
        ("BACKUP_BINLOG_INFO_FILE", flavor.backup_binlog_info_file, ""),
        ("BACKUP_REPLICA_INFO_FILE", flavor.backup_replica_info_file, ""),
        ("BACKUP_CHECKPOINTS_FILE", flavor.backup_checkpoints_file, ""),
        ("BACKUP_INFO_FILE", flavor.backup_info_file, ""),
        ("BACKUP_PREPARED_TYPE", flavor.backup_prepared_type, ""),
        ("REPLICA_INFO_GTID_VARIABLE", flavor.replica_info_gtid_variable, ""),
        ("IO_RUNNING_COLUMN", flavor.io_running_column, f"columns of {flavor.show_replica_status}"),
        ("SQL_RUNNING_COLUMN", flavor.sql_running_column, ""),
        ("LAG_COLUMN", flavor.lag_column, ""),
        ("SOURCE_HOST_COLUMN", flavor.source_host_column, ""),
        ("SOURCE_PORT_COLUMN", flavor.source_port_column, ""),
        ("SOURCE_USER_COLUMN", flavor.source_user_column, ""),
        ("AUTO_POSITION_COLUMN", flavor.auto_position_column, ""),
        ("AUTO_POSITION_VALUE", flavor.auto_position_value, ""),
        ("LAST_IO_ERRNO_COLUMN", flavor.last_io_errno_column, ""),
        ("LAST_IO_ERROR_COLUMN", flavor.last_io_error_column, ""),
        ("SOURCE_PURGED_ERRNO", flavor.source_purged_errno, "IO error: the source purged needed binlogs"),
        ("LAST_SQL_ERRNO_COLUMN", flavor.last_sql_errno_column, ""),
        ("LAST_SQL_ERROR_COLUMN", flavor.last_sql_error_column, ""),
        ("RECEIVED_GTID_COLUMN", flavor.received_gtid_column, ""),
        ("NET_TIMEOUT_VARIABLE", flavor.net_timeout_variable, "the receiver's network timeout (seconds)"),
        ("READ_ONLY_VARIABLES", " ".join(flavor.read_only_variables), "all ON on a replica"),
        (
            "APPLY_STRICT_VARIABLES",
            " ".join(f"{name}={value}" for name, value in flavor.apply_strict_variables),
            "name=value, each on a replica that applies everything",
        ),
        (
            "SQL_SHOW_REPLICA_STATUS",
            f"{flavor.show_replica_status};",
            "SQL, `;`-terminated ({{NAME}}: flavors.py)",
        ),
        ("SQL_STOP_REPLICA", f"{flavor.stop_replica};", ""),
        ("SQL_START_REPLICA", f"{flavor.start_replica};", ""),
        ("SQL_START_APPLIER", f"{flavor.start_applier};", ""),
        ("SQL_STOP_RECEIVER", f"{flavor.stop_receiver};", ""),
        ("SQL_START_RECEIVER", f"{flavor.start_receiver};", ""),
        ("SQL_RESET_REPLICA_ALL", f"{flavor.reset_replica_all};", ""),
        ("SQL_CHANGE_SOURCE", flavor.change_source, ""),
        ("SQL_CHANGE_SOURCE_CREDENTIALS", flavor.change_source_credentials, "empty: re-pointing pauses it"),
        ("SQL_APPLY_GTID_POSITION", flavor.apply_gtid_position, ""),
        ("SQL_ENFORCE_READ_ONLY", f"{flavor.enforce_read_only};", ""),
        ("SQL_SEED_PRIMARY_GTID", flavor.seed_primary_gtid, ""),
        ("SQL_GTID_SUBSET", flavor.gtid_subset_sql, ""),
        ("SQL_GTID_SUBTRACT", flavor.gtid_subtract_sql, ""),
        ("SQL_CAUGHT_UP", flavor.caught_up_sql, ""),
        ("SQL_OWN_TRANSACTIONS", flavor.own_transactions_sql, ""),
        ("GTID_EXECUTED_VARIABLE", flavor.gtid_executed_variable, "GTID sets"),
        ("GTID_HISTORY_VARIABLE", flavor.gtid_history_variable, ""),
        ("GTID_ORDER", flavor.gtid_order, ""),
        ("GTID_DOMAIN_OPTION", flavor.gtid_domain_option, "empty: a GTID names its server"),
        ("SQL_INIT_ACCOUNTS", flavor.init_accounts, ""),
        ("SQL_ROTATE_PASSWORDS", flavor.rotate_passwords, ""),
        ("SQL_INIT_PASSWORDS", flavor.init_passwords, ""),
        ("BACKUP_HOST", flavor.backup_host, "the backup account's host"),
        ("SQL_BACKUP_ACCOUNT", flavor.backup_account, ""),
        ("SQL_PASSWORD_HASHES", flavor.account_hashes_sql, "empty: rotate with the passwords themselves"),
        ("LOCAL_ADMIN_USER", LOCAL_ADMIN_USER, "the pod-local administrator: socket authentication"),
        ("SQL_LOCAL_ADMIN", flavor.local_admin, ""),
        ("SQL_PEER_UNAPPLIED", flavor.peer_unapplied_sql, "a re-seed: what a replica received, not applied"),
        ("SQL_REPLICATION_MONITOR_GRANT", flavor.replication_monitor_grant, ""),
        ("REPLICATION_MONITOR_GRANTED", flavor.replication_monitor_granted, ""),
        ("SQL_CLONE_INSTANCE", flavor.clone_instance, "empty unless SEEDING=clone-plugin"),
    ]
    lines = [
        f"# Rendered by mysql_cluster/flavors for {flavor.name} {flavor.version}; sourced by the",
        "# container scripts (lib.sh). Every value is single-quoted: sourcing runs nothing.",
    ]
    for key, value, comment in values:
        if "'" in value:  # keeps the quoting trivial and the file readable in the ConfigMap
            raise ValueError(f"{key} must not contain a single quote: {value!r}")
        if comment:
            lines.append(f"# {comment}")
        lines.append(f"{key}='{value}'")
    return "\n".join(lines) + "\n"
