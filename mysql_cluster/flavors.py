"""What differs between MySQL 8.4, MySQL 8.0 and MariaDB: images, tools, server options and SQL.

This is the only module that spells SQL or server options that differ between versions. The component
ships `render_config_files(flavor)` in its ConfigMap; the container scripts source `flavor.env` from it;
the post-deploy checks import the status statements and column names from here.

Public API (names and signatures are stable; fields may be added):
    SUPPORTED_VERSIONS: dict[str, tuple[str, ...]]   flavor -> supported versions, default first
    DEFAULT_FLAVOR: str
    get_flavor(name: str, version: str | None = None) -> Flavor   raises UnknownFlavorError
    render_config_files(flavor: Flavor) -> dict[str, str]          file name -> content

Which image runs which container (`mysql_cluster/scripts/README.md` has the whole contract):
    server image (`default_image`): init-config, the server, the probes;
    backup image (`default_backup_image`): label-pod, clone, the backup sidecar. The Percona XtraBackup
    images ship `xtrabackup`, `xbstream`, `socat` and the Percona Server `mysql` client, so the sidecar
    issues its SQL from there; for MariaDB both are the same image.
Every container of a pod runs as `run_as_user`/`run_as_group` (999: the `mysql` user of the official
`mysql` and `mariadb` images). The Percona image's own user is 1001, but nothing in that image depends on
it, and running it as 999 keeps every file on the data volume owned by the server's natural user.

SQL templates carry `{{NAME}}` placeholders. The scripts substitute quoted SQL string literals (or, for
`{{SOURCE_PORT}}`, a validated number) and send the result to the client on stdin, never on its command
line. Placeholders: ROOT_PASSWORD, REPLICATION_USER, REPLICATION_PASSWORD, BACKUP_USER, BACKUP_PASSWORD,
SOURCE_HOST, SOURCE_PORT, GTID_POSITION.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_FLAVOR = "mysql"

SUPPORTED_VERSIONS: dict[str, tuple[str, ...]] = {
    "mysql": ("8.4", "8.0"),
    "mariadb": ("10.11", "11.4"),
}

# uid/gid of the `mysql` user in the official mysql and mariadb images (and in the e2e image).
MYSQL_UID = 999

# Seconds between a replica's reconnection attempts to the primary. Short, because a restarted primary
# should be followed within seconds, and a connection attempt costs the primary next to nothing.
CONNECT_RETRY_SECONDS = 10

# Binary logs are kept a week by default: a replica that was away for less than that catches up from the
# binary logs; one that was away longer must be re-cloned (the sidecar says so in its log). Override with
# `binlog_expire_logs_seconds` in the stack's `serverConfig` (server_config.py).
BINLOG_EXPIRE_SECONDS = 7 * 24 * 3600


class UnknownFlavorError(ValueError):
    """A flavor or version this project does not support."""


@dataclass(frozen=True)
class Flavor:
    """One database flavor at one major version: everything the component, scripts and checks need."""

    name: str
    """Flavor name: "mysql" or "mariadb"."""
    version: str
    """Major version: "8.4", "8.0", "10.11" or "11.4"."""
    default_image: str
    """Image of the server container (also runs init-config and the probes)."""
    default_backup_image: str
    """Image of the label-pod and clone init containers and of the backup sidecar."""
    run_as_user: int
    """uid every container of the pod runs as; also `fsGroup`'s owner of the data volume."""
    run_as_group: int
    """gid every container runs as; use it as `fsGroup` too so the volume is group-writable for it."""

    server_binary: str
    """The server program: "mysqld" or "mariadbd"."""
    client_binary: str
    """The SQL client: "mysql" or "mariadb"."""
    admin_binary: str
    """The admin client used for pings: "mysqladmin" or "mariadb-admin"."""
    upgrade_binary: str
    """The upgrade step after a version change ("mariadb-upgrade"; "" for MySQL, whose server upgrades its
    own data dictionary and system tables at startup since 8.0.16)."""
    install_db_binary: str
    """Program that initialises an empty datadir ("" for MySQL: `mysqld --initialize-insecure` does)."""
    backup_binary: str
    """Physical backup tool: "xtrabackup" or "mariadb-backup"."""
    stream_binary: str
    """Stream (de)multiplexer of the backup tool: "xbstream" or "mbstream"."""
    backup_grants: tuple[str, ...]
    """Global privileges of the backup user, exactly what `backup_binary --backup --slave-info` needs."""
    backup_table_grants: tuple[str, ...]
    """Tables the backup user may SELECT from (performance_schema tables XtraBackup reads)."""
    backup_replica_info_option: str
    """Backup option that records the donor replica's replication position in `backup_replica_info_file`."""
    backup_binlog_info_file: str
    """File of a backup that holds "<binlog file> <position> <GTID set>" of the donor."""
    backup_replica_info_file: str
    """File of a backup taken on a replica that holds its replication (GTID) position."""
    backup_checkpoints_file: str
    """File of a backup that holds its LSN range and backup_type; written at the end of the backup."""
    backup_info_file: str
    """File of a backup with the tool's summary of the backup."""
    backup_prepared_type: str
    """`backup_type` in the checkpoints file once the backup is prepared ("full-prepared", "log-applied")."""
    replica_info_gtid_variable: str
    """Variable the replica-info file assigns the GTID position to ("gtid_purged" or "gtid_slave_pos")."""

    show_replica_status: str
    """Statement that reports replication state: "SHOW REPLICA STATUS" or "SHOW SLAVE STATUS"."""
    io_running_column: str
    """Status column of the receiver (IO) thread: "Yes", "No" or "Connecting"."""
    sql_running_column: str
    """Status column of the applier (SQL) thread: "Yes" or "No"."""
    lag_column: str
    """Status column with the replica's lag in seconds (NULL while a thread is stopped)."""
    source_host_column: str
    """Status column with the host the replica replicates from."""
    source_port_column: str
    """Status column with the port the replica replicates from."""
    source_user_column: str
    """Status column with the replication user."""
    auto_position_column: str
    """Status column that says whether GTID auto-positioning is on."""
    auto_position_value: str
    """Value of `auto_position_column` when it is on ("1" or "Slave_Pos")."""
    last_io_errno_column: str
    """Status column with the last receiver error number (1236: the source purged needed binlogs)."""
    last_io_error_column: str
    """Status column with the last receiver error message."""
    last_sql_errno_column: str
    """Status column with the last applier error number."""
    last_sql_error_column: str
    """Status column with the last applier error message."""
    gtid_executed_variable: str
    """Variable with everything the server has applied ("gtid_executed" or "gtid_current_pos")."""
    gtid_purged_variable: str | None
    """Variable with the GTIDs no longer in the binary logs (MySQL only; MariaDB has none)."""
    gtid_history_variable: str
    """Variable naming every origin of the server's transactions ("gtid_executed": each source UUID;
    "gtid_binlog_state": each domain and server id). A replica with an origin its primary lacks holds
    errant transactions, written on it rather than replicated."""
    server_uuid_variable: str | None
    """Variable with the server's replication identity besides server_id (MySQL only)."""
    read_only_variables: tuple[str, ...]
    """Variables that are all ON on a replica (and all OFF on the primary)."""

    stop_replica: str
    """Statement that stops both replication threads (a no-op with a warning when not configured).

    Single statements carry no trailing `;` (ready for a driver); multi-statement templates do."""
    start_replica: str
    """Statement that starts both replication threads."""
    reset_replica_all: str
    """Statement that forgets the replication source and relay logs (not the GTID position)."""
    show_binary_log_status: str
    """Statement that reports the binary log position ("SHOW BINARY LOG STATUS" from MySQL 8.2)."""
    change_source: str
    """Template pointing replication at {{SOURCE_HOST}}:{{SOURCE_PORT}} with GTID auto-positioning."""
    apply_gtid_position: str
    """Template making {{GTID_POSITION}} (a fresh clone's position) the replica's applied position."""
    enforce_read_only: str
    """Statement that makes the server read-only for every client (replicas)."""
    seed_primary_gtid: str
    """Template run on a private server of a primary re-seeded from a replica's backup: forgets the donor's
    source, empties the binary logs and makes {{GTID_POSITION}} the history the new binary log continues,
    so replicas at that position resume with GTID auto-positioning."""
    gtid_order: str
    """How the scripts compare two GTID sets: "domain-seq" (MariaDB: per-domain sequence numbers) or
    "subset-sql" (MySQL: `gtid_subset_sql` asked of a server)."""
    gtid_subset_sql: str
    """Template answering 1 when {{GTID_A}} is contained in {{GTID_B}} ("" where gtid_order needs none)."""
    own_transactions_sql: str
    """Statement answering 1 when the server's GTID history holds transactions it originated itself: on a
    replica, errant transactions (written on it, not replicated), which a donor must not pass on."""
    init_accounts: str
    """Template run once on the freshly initialised primary: passwords, users and their grants."""

    common_cnf: str
    """Server options of every pod."""
    primary_cnf: str
    """Server options of the primary (ordinal 0) only."""
    replica_cnf: str
    """Server options of replicas only."""


# --------------------------------------------------------------------------------------------- MySQL --


def _mysql_cnf(version: str) -> tuple[str, str, str]:
    common = f"""\
# Rendered by mysql_cluster/flavors.py for MySQL {version}: options of every pod.
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
"""
    primary = f"""\
# Rendered by mysql_cluster/flavors.py for MySQL {version}: options of the primary (ordinal 0).
[mysqld]
super_read_only = OFF
read_only = OFF
"""
    replica = f"""\
# Rendered by mysql_cluster/flavors.py for MySQL {version}: options of replicas (ordinal > 0).
[mysqld]
# super_read_only: not even accounts with CONNECTION_ADMIN/SUPER (root) write on a replica.
read_only = ON
super_read_only = ON
"""
    return common, primary, replica


def _mysql(version: str) -> Flavor:
    # The REPLICA/SOURCE statement forms exist from 8.0.22/8.0.23; 8.0 is supported from 8.0.23 on.
    # SHOW BINARY LOG STATUS and RESET BINARY LOGS AND GTIDS exist from 8.2 (8.4 removed the old forms).
    is_84 = version == "8.4"
    reset_binlogs = "RESET BINARY LOGS AND GTIDS" if is_84 else "RESET MASTER"
    # Percona XtraBackup 8.x: LOCK INSTANCE FOR BACKUP (BACKUP_ADMIN), FLUSH (RELOAD), LOCK TABLES for
    # non-InnoDB tables, PROCESS for the InnoDB status, REPLICATION CLIENT for SHOW REPLICA STATUS, and
    # the performance_schema tables it reads the binlog/GTID position and keyring/group state from.
    backup_grants = ("BACKUP_ADMIN", "PROCESS", "RELOAD", "LOCK TABLES", "REPLICATION CLIENT")
    backup_table_grants = (
        "performance_schema.log_status",
        "performance_schema.keyring_component_status",
        "performance_schema.replication_group_members",
    )
    common, primary, replica = _mysql_cnf(version)
    return Flavor(
        name="mysql",
        version=version,
        default_image=f"mysql:{version}",
        default_backup_image=f"percona/percona-xtrabackup:{version}",
        run_as_user=MYSQL_UID,
        run_as_group=MYSQL_UID,
        server_binary="mysqld",
        client_binary="mysql",
        admin_binary="mysqladmin",
        upgrade_binary="",
        install_db_binary="",
        backup_binary="xtrabackup",
        stream_binary="xbstream",
        backup_grants=backup_grants,
        backup_table_grants=backup_table_grants,
        # XtraBackup 8.4 still names the option and the file "slave" (the server statements changed).
        backup_replica_info_option="--slave-info",
        backup_binlog_info_file="xtrabackup_binlog_info",
        backup_replica_info_file="xtrabackup_slave_info",
        backup_checkpoints_file="xtrabackup_checkpoints",
        backup_info_file="xtrabackup_info",
        backup_prepared_type="full-prepared",
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
        last_io_error_column="Last_IO_Error",
        last_sql_errno_column="Last_SQL_Errno",
        last_sql_error_column="Last_SQL_Error",
        gtid_executed_variable="gtid_executed",
        gtid_purged_variable="gtid_purged",
        gtid_history_variable="gtid_executed",
        server_uuid_variable="server_uuid",
        read_only_variables=("read_only", "super_read_only"),
        stop_replica="STOP REPLICA",
        start_replica="START REPLICA",
        reset_replica_all="RESET REPLICA ALL",
        show_binary_log_status="SHOW BINARY LOG STATUS" if is_84 else "SHOW MASTER STATUS",
        # caching_sha2_password (the default) over plain TCP needs the source's RSA key for the password
        # exchange: GET_SOURCE_PUBLIC_KEY=1. SOURCE_RETRY_COUNT: the 8.0.23+ default (10) gives up after
        # minutes; a replica should wait for its primary for as long as it takes (here 10 days).
        change_source=(
            "CHANGE REPLICATION SOURCE TO SOURCE_HOST = {{SOURCE_HOST}}, SOURCE_PORT = {{SOURCE_PORT}}, "
            "SOURCE_USER = {{REPLICATION_USER}}, SOURCE_PASSWORD = {{REPLICATION_PASSWORD}}, "
            "SOURCE_AUTO_POSITION = 1, GET_SOURCE_PUBLIC_KEY = 1, "
            f"SOURCE_CONNECT_RETRY = {CONNECT_RETRY_SECONDS}, SOURCE_RETRY_COUNT = 86400;"
        ),
        # gtid_purged can only be set on an empty gtid_executed: reset first. super_read_only is lifted for
        # these two statements only (read_only stays ON, so ordinary accounts still cannot write), and the
        # sidecar re-asserts it in a separate session even when a statement here failed.
        apply_gtid_position=(
            "SET GLOBAL super_read_only = OFF;\n"
            f"{reset_binlogs};\n"
            "SET GLOBAL gtid_purged = {{GTID_POSITION}};\n"
            "SET GLOBAL super_read_only = ON;"
        ),
        enforce_read_only="SET GLOBAL super_read_only = ON",
        seed_primary_gtid=(
            f"RESET REPLICA ALL;\n{reset_binlogs};\nSET GLOBAL gtid_purged = {{{{GTID_POSITION}}}};"
        ),
        gtid_order="subset-sql",
        own_transactions_sql="SELECT LOCATE(@@GLOBAL.server_uuid, @@GLOBAL.gtid_executed) > 0;",
        gtid_subset_sql="SELECT GTID_SUBSET({{GTID_A}}, {{GTID_B}});",
        # The network root may neither lift super_read_only (SYSTEM_VARIABLES_ADMIN, SUPER) nor read or
        # write server-side files (FILE).
        init_accounts=_init_accounts(
            "REVOKE SYSTEM_VARIABLES_ADMIN, SUPER, FILE ON *.* FROM `root`@`%`;\n",
            backup_grants,
            backup_table_grants,
        ),
        common_cnf=common,
        primary_cnf=primary,
        replica_cnf=replica,
    )


# ------------------------------------------------------------------------------------------- MariaDB --


def _mariadb_cnf(version: str) -> tuple[str, str, str]:
    common = f"""\
# Rendered by mysql_cluster/flavors.py for MariaDB {version}: options of every pod.
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
# The sidecar decides when replication starts, after it has checked and (re)pointed the source.
skip_slave_start = ON
# Every pod boots read-only; primary.cnf lifts it on ordinal 0 only.
read_only = ON
character_set_server = utf8mb4
"""
    primary = f"""\
# Rendered by mysql_cluster/flavors.py for MariaDB {version}: options of the primary (ordinal 0).
[mysqld]
read_only = OFF
"""
    replica = f"""\
# Rendered by mysql_cluster/flavors.py for MariaDB {version}: options of replicas (ordinal > 0).
[mysqld]
# MariaDB has no super_read_only: accounts with READ_ONLY ADMIN write through read_only. Only
# root@localhost (the unix socket inside the pod: the scripts, kubectl exec) holds it; root@'%', the
# account clients use over the network, does not, so replicas reject every client write.
read_only = ON
"""
    return common, primary, replica


def _mariadb(version: str) -> Flavor:
    # MariaDB 11.1 renamed the backup's metadata files from xtrabackup_* to mariadb_backup_* (MDEV-18931).
    prefix = "xtrabackup" if version == "10.11" else "mariadb_backup"
    backup_grants = ("RELOAD", "PROCESS", "LOCK TABLES", "BINLOG MONITOR", "SLAVE MONITOR")
    common, primary, replica = _mariadb_cnf(version)
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
        install_db_binary="mariadb-install-db",
        backup_binary="mariadb-backup",
        stream_binary="mbstream",
        # BACKUP STAGE and FLUSH (RELOAD), the InnoDB status (PROCESS), non-InnoDB tables (LOCK TABLES),
        # the binlog position (BINLOG MONITOR) and, for --slave-info, SHOW SLAVE STATUS (SLAVE MONITOR).
        backup_grants=backup_grants,
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
        last_io_error_column="Last_IO_Error",
        last_sql_errno_column="Last_SQL_Errno",
        last_sql_error_column="Last_SQL_Error",
        gtid_executed_variable="gtid_current_pos",
        gtid_purged_variable=None,
        gtid_history_variable="gtid_binlog_state",
        server_uuid_variable=None,
        read_only_variables=("read_only",),
        stop_replica="STOP SLAVE",
        start_replica="START SLAVE",
        reset_replica_all="RESET SLAVE ALL",
        show_binary_log_status="SHOW MASTER STATUS",
        change_source=(
            "CHANGE MASTER TO MASTER_HOST = {{SOURCE_HOST}}, MASTER_PORT = {{SOURCE_PORT}}, "
            "MASTER_USER = {{REPLICATION_USER}}, MASTER_PASSWORD = {{REPLICATION_PASSWORD}}, "
            f"MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = {CONNECT_RETRY_SECONDS};"
        ),
        # Needs READ_ONLY ADMIN on a read-only replica: the sidecar runs it as root@localhost.
        apply_gtid_position="SET GLOBAL gtid_slave_pos = {{GTID_POSITION}};",
        enforce_read_only="SET GLOBAL read_only = ON",
        # gtid_binlog_state may only be set on empty binary logs; replicas asking for the last GTID of the
        # state then resume from the new primary's first event.
        seed_primary_gtid=(
            "RESET SLAVE ALL;\nRESET MASTER;\nSET GLOBAL gtid_binlog_state = {{GTID_POSITION}};"
        ),
        gtid_order="domain-seq",
        # A binlog state item is domain-server-seq: "-<server_id>-" matches the server id field only.
        own_transactions_sql=(
            "SELECT LOCATE(CONCAT(CHAR(45), @@GLOBAL.server_id, CHAR(45)), @@GLOBAL.gtid_binlog_state) > 0;"
        ),
        gtid_subset_sql="",
        init_accounts=_init_accounts(
            # SUPER no longer implies READ_ONLY ADMIN (10.11+), but ALL PRIVILEGES does: take it back from
            # the network account so that read_only binds it on replicas.
            # FILE: no server-side file reads or writes from the network (secure_file_priv confines the rest).
            root_extra="REVOKE READ_ONLY ADMIN, FILE ON *.* FROM `root`@`%`;\n",
            backup_grants=backup_grants,
            backup_table_grants=(),
        ),
        common_cnf=common,
        primary_cnf=primary,
        replica_cnf=replica,
    )


def _init_accounts(
    root_extra: str, backup_grants: tuple[str, ...], backup_table_grants: tuple[str, ...]
) -> str:
    """The accounts of a new cluster, created on the primary before it first serves (never binlogged).

    root@localhost: the unix socket inside the pod (scripts, probes, `kubectl exec`).
    root@'%': clients over the network (the Services, the post-deploy check). The cluster has no other
    client credential, so it must exist; the Secret holds its password, and on replicas it cannot write.
    replication user @'%': REPLICATION SLAVE only; replicas connect from changing pod IPs.
    backup user @'localhost': the backup tool connects over the socket only, so the account cannot be
    used from the network at all.
    """
    # Account names are quoted with backticks so that the templates hold no single quote (flavor.env
    # quotes every value in single quotes); the scripts substitute the user names as string literals.
    table_grants = "".join(
        f"GRANT SELECT ON {table} TO {{{{BACKUP_USER}}}}@`localhost`;\n" for table in backup_table_grants
    )
    return (
        "SET SESSION sql_log_bin = 0;\n"
        "ALTER USER `root`@`localhost` IDENTIFIED BY {{ROOT_PASSWORD}};\n"
        "CREATE USER `root`@`%` IDENTIFIED BY {{ROOT_PASSWORD}};\n"
        "GRANT ALL PRIVILEGES ON *.* TO `root`@`%` WITH GRANT OPTION;\n"
        f"{root_extra}"
        "CREATE USER {{REPLICATION_USER}}@`%` IDENTIFIED BY {{REPLICATION_PASSWORD}};\n"
        "GRANT REPLICATION SLAVE ON *.* TO {{REPLICATION_USER}}@`%`;\n"
        "CREATE USER {{BACKUP_USER}}@`localhost` IDENTIFIED BY {{BACKUP_PASSWORD}};\n"
        f"GRANT {', '.join(backup_grants)} ON *.* TO {{{{BACKUP_USER}}}}@`localhost`;\n"
        f"{table_grants}"
    )


# ------------------------------------------------------------------------------------------ public API --


def get_flavor(name: str, version: str | None = None) -> Flavor:
    """The flavor `name` at `version` (default: the first of `SUPPORTED_VERSIONS[name]`)."""
    if name not in SUPPORTED_VERSIONS:
        raise UnknownFlavorError(
            f"unknown flavor {name!r}: supported flavors are {', '.join(sorted(SUPPORTED_VERSIONS))}"
        )
    versions = SUPPORTED_VERSIONS[name]
    chosen = versions[0] if version is None else version
    if chosen not in versions:
        raise UnknownFlavorError(
            f"unsupported {name} version {chosen!r}: supported versions are {', '.join(versions)}"
        )
    return _mysql(chosen) if name == "mysql" else _mariadb(chosen)


def render_config_files(flavor: Flavor) -> dict[str, str]:
    """The ConfigMap files that depend on the flavor: `common.cnf`, `primary.cnf`, `replica.cnf` and
    `flavor.env` (sourced by the container scripts)."""
    return {
        "common.cnf": flavor.common_cnf,
        "primary.cnf": flavor.primary_cnf,
        "replica.cnf": flavor.replica_cnf,
        "flavor.env": _flavor_env(flavor),
    }


def _flavor_env(flavor: Flavor) -> str:
    """Shell assignments (single-quoted, safe to `source`) of everything the scripts need."""
    values: list[tuple[str, str, str]] = [
        ("FLAVOR_NAME", flavor.name, "flavor and major version"),
        ("FLAVOR_VERSION", flavor.version, ""),
        ("SERVER_BIN", flavor.server_binary, "programs"),
        ("CLIENT_BIN", flavor.client_binary, ""),
        ("ADMIN_BIN", flavor.admin_binary, ""),
        ("UPGRADE_BIN", flavor.upgrade_binary, "empty: the server upgrades itself at startup"),
        ("INSTALL_DB_BIN", flavor.install_db_binary, "empty: `$SERVER_BIN --initialize-insecure`"),
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
        ("LAST_SQL_ERRNO_COLUMN", flavor.last_sql_errno_column, ""),
        ("LAST_SQL_ERROR_COLUMN", flavor.last_sql_error_column, ""),
        ("READ_ONLY_VARIABLES", " ".join(flavor.read_only_variables), "all ON on a replica"),
        (
            "SQL_SHOW_REPLICA_STATUS",
            f"{flavor.show_replica_status};",
            "SQL, `;`-terminated ({{NAME}}: flavors.py)",
        ),
        ("SQL_STOP_REPLICA", f"{flavor.stop_replica};", ""),
        ("SQL_START_REPLICA", f"{flavor.start_replica};", ""),
        ("SQL_RESET_REPLICA_ALL", f"{flavor.reset_replica_all};", ""),
        ("SQL_CHANGE_SOURCE", flavor.change_source, ""),
        ("SQL_APPLY_GTID_POSITION", flavor.apply_gtid_position, ""),
        ("SQL_ENFORCE_READ_ONLY", f"{flavor.enforce_read_only};", ""),
        ("SQL_SEED_PRIMARY_GTID", flavor.seed_primary_gtid, ""),
        ("SQL_GTID_SUBSET", flavor.gtid_subset_sql, ""),
        ("SQL_OWN_TRANSACTIONS", flavor.own_transactions_sql, ""),
        ("GTID_EXECUTED_VARIABLE", flavor.gtid_executed_variable, "GTID sets"),
        ("GTID_ORDER", flavor.gtid_order, ""),
        ("SQL_INIT_ACCOUNTS", flavor.init_accounts, ""),
    ]
    lines = [
        f"# Rendered by mysql_cluster/flavors.py for {flavor.name} {flavor.version}; sourced by the",
        "# container scripts (lib.sh). Every value is single-quoted: sourcing runs nothing.",
    ]
    for key, value, comment in values:
        if "'" in value:  # keeps the quoting trivial and the file readable in the ConfigMap
            raise ValueError(f"{key} must not contain a single quote: {value!r}")
        if comment:
            lines.append(f"# {comment}")
        lines.append(f"{key}='{value}'")
    return "\n".join(lines) + "\n"
