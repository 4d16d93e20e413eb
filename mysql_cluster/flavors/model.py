"""The shape of a flavor (`Flavor`) and what every flavor shares: the uid, the tuning constants and the
accounts of a new cluster. Each flavor's values live in its own module (`mysql.py`, `mariadb.py`)."""

from __future__ import annotations

from dataclasses import dataclass

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
    """Major version: "8.4", "9.7", "10.11", "11.4" or "11.8"."""
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
    seeding: str
    """How a new replica gets its data: "backup-stream" (the donor's sidecar streams `backup_binary`'s
    backup over TCP, clone.sh prepares it) or "clone-plugin" (the server's own CLONE plugin; MySQL without
    a backup tool to be had; the backup_* fields are then empty)."""
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
    """Status column with the last receiver error number (see `source_purged_errno`)."""
    source_purged_errno: str
    """The receiver's error number when the source purged binary logs the replica needs: 1236 on MariaDB;
    MySQL 8.0+ wraps the source's 1236 in 13114 (checked against mysqld 9.7)."""
    last_io_error_column: str
    """Status column with the last receiver error message."""
    last_sql_errno_column: str
    """Status column with the last applier error number."""
    last_sql_error_column: str
    """Status column with the last applier error message."""
    applier_errors_sql: str
    """Query answering the applier workers' last errors, newest first, as columns `errno` and `message` (""
    where the status row's own error is the cause). MySQL's multi-threaded applier (4 workers by default)
    puts only "Coordinator stopped because there were error(s) in the worker(s)" into Last_SQL_Error; the
    cause is in performance_schema (no rows when performance_schema is off)."""
    received_gtid_column: str
    """Status column with what the receiver received: "Gtid_IO_Pos" (MariaDB: one GTID per domain) or
    "Retrieved_Gtid_Set" (MySQL; it spans lines when it holds several sources, so `caught_up_sql` reads the
    same set from performance_schema instead)."""
    caught_up_sql: str
    """Template answering 0 once the applier has applied everything the receiver received, waiting at most
    {{SECONDS}} seconds (anything else: it has not); {{RECEIVED}} is the `received_gtid_column` value. With a
    connected receiver, the readiness probe's proof that the replica is as fresh as its primary."""
    net_timeout_variable: str
    """Server option: seconds without a byte from the source after which the receiver reconnects
    ("slave_net_timeout" or "replica_net_timeout"); the source sends heartbeat events every half of it."""
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
    start_applier: str
    """Statement that starts the applier (SQL thread) only."""
    stop_receiver: str
    """Statement that stops the receiver (IO thread) only: the applier keeps applying what was received."""
    start_receiver: str
    """Statement that starts the receiver (IO thread) only."""
    reset_replica_all: str
    """Statement that forgets the replication source and relay logs (not the GTID position)."""
    show_binary_log_status: str
    """Statement that reports the binary log position ("SHOW BINARY LOG STATUS" from MySQL 8.2)."""
    change_source: str
    """Template pointing replication at {{SOURCE_HOST}}:{{SOURCE_PORT}} with GTID auto-positioning, the
    source sending a heartbeat event every {{HEARTBEAT_PERIOD}} seconds while it has nothing else to send."""
    change_source_credentials: str
    """Template giving the configured source a new {{REPLICATION_USER}} and {{REPLICATION_PASSWORD}}, the
    rest kept, which the server accepts with only the receiver stopped; empty where it refuses that
    (MariaDB: error 1198 while the applier runs), and replication is then paused whole to re-point."""
    apply_gtid_position: str
    """Template making {{GTID_POSITION}} (a fresh clone's position) the replica's applied position."""
    enforce_read_only: str
    """Statement that makes the server read-only for every client (replicas)."""
    seed_primary_gtid: str
    """Template run on a private server of a primary re-seeded from a replica's backup: forgets the donor's
    source, empties the binary logs and makes {{GTID_POSITION}} the history the new binary log continues,
    so replicas at that position resume with GTID auto-positioning."""
    gtid_domain_option: str
    """Server option giving the primary the GTID domain its writes go to ("" where a GTID names its server:
    MySQL's server_uuid, new in every clone). MariaDB's GTID is domain-server-seq: a primary re-seeded from a
    replica at 0-100-15 would issue 0-100-16... again, while a copy may hold the old primary's 0-100-16...;
    the re-seeded primary writes to a domain no copy has (server.sh seed_primary)."""
    gtid_order: str
    """How the scripts compare two GTID sets: "domain-seq" (MariaDB: per-domain sequence numbers) or
    "subset-sql" (MySQL: `gtid_subset_sql` asked of a server)."""
    gtid_subset_sql: str
    """Template answering 1 when {{GTID_A}} is contained in {{GTID_B}} ("" where gtid_order needs none)."""
    gtid_subtract_sql: str
    """Template answering the GTIDs of {{GTID_A}} that {{GTID_B}} lacks, "" when none ("" where gtid_order
    needs none)."""
    own_transactions_sql: str
    """Statement answering 1 when the server's GTID history holds transactions it originated itself: on a
    replica, errant transactions (written on it, not replicated), which a donor must not pass on."""
    init_accounts: str
    """Template run once on the freshly initialised primary: passwords, users and their grants."""
    peer_unapplied_sql: str
    """Statement a replica answers, to its replication user, with the GTIDs it received and has not applied
    yet ("" when drained; "" where gtid_order is "domain-seq", which reads `received_gtid_column`)."""
    replication_monitor_grant: str
    """Template letting {{REPLICATION_USER}} read what a replica received (a re-seed ranks replicas by it)."""
    replication_monitor_granted: str
    """Text `SHOW GRANTS` of the replication user holds once `replication_monitor_grant` was run."""
    local_admin: str
    """Statements creating the pod-local administrator (LOCAL_ADMIN_USER@localhost, no password: the server
    authenticates the socket peer's operating-system user) if it is missing; part of `init_accounts`, and run
    binlogged by the primary's sidecar on a cluster initialised before it existed."""
    rotate_passwords: str
    """Template run by root on the primary's running server when the Secret's passwords may have changed:
    gives root, the replication and the backup user the Secret's passwords (binlogged: replicas follow)."""
    backup_host: str
    """Host of the backup account: "localhost" (the backup tool connects over the socket) or "%" (the CLONE
    plugin's recipient connects over the network)."""
    backup_account: str
    """Template run binlogged by the primary's sidecar on data whose backup account is missing or lives at
    another host (initialised by another version, e.g. MySQL 8.4's socket account under 9.7's CLONE
    plugin): creates {{BACKUP_USER}}@`backup_host` as `init_accounts` does, with the Secret's password
    ({{BACKUP_PASSWORD_HASH}} where `account_hashes_sql` is set) and its grants."""
    apply_strict_variables: tuple[tuple[str, str], ...]
    """Global variables and the value each must hold on a replica that applies everything its primary sends
    (an applier that skips errors or turns idempotent hides a divergence; faithful.sh)."""
    init_passwords: str
    """`rotate_passwords` with the passwords themselves (never hashes), for the primary's init file, which the
    server runs unlogged before it accepts a connection (server.sh write_password_init_file)."""
    account_hashes_sql: str
    """Template answering, in one row, the hashes the server stores for {{ROOT_PASSWORD}},
    {{REPLICATION_PASSWORD}} and {{BACKUP_PASSWORD}}, which `rotate_passwords` then applies as
    {{ROOT_PASSWORD_HASH}}... ("" where the binary log holds only hashes whatever the statement's form)."""
    clone_instance: str
    """Template run by root@localhost on a recipient's private server ("" unless seeding is clone-plugin):
    copies the donor {{DONOR_HOST}}:{{DONOR_PORT}} (also {{DONOR_ADDRESS}}, "host:port", the only donor
    allowed) into {{DATA_DIRECTORY}} (absolute, must not exist) as {{BACKUP_USER}}, over TLS only."""

    common_cnf: str
    """Server options of every pod."""
    primary_cnf: str
    """Server options of the primary (ordinal 0) only."""
    replica_cnf: str
    """Server options of replicas only."""


def init_accounts(
    *,
    root_extra: str,
    replication_require: str,
    backup_grants: tuple[str, ...],
    backup_table_grants: tuple[str, ...],
    local_admin: str,
    replication_monitor_grant: str,
    backup_host: str = "localhost",
    backup_require: str = "",
) -> str:
    """The accounts of a new cluster, created on the primary before it first serves (never binlogged).

    LOCAL_ADMIN_USER@localhost (`local_admin`): the pod's own scripts and probes, over the unix socket, as the
    server's operating-system user; no password, so a password rotation never locks them out.
    root@localhost: the unix socket inside the pod (`kubectl exec`, and the scripts where the local
    administrator is missing).
    root@'%': clients over the network (the Services, the post-deploy check). The cluster has no other
    client credential, so it must exist; the Secret holds its password, and on replicas it cannot write.
    replication user @'%': REPLICATION SLAVE only; replicas connect from changing pod IPs
    (`replication_require`: e.g. " REQUIRE SSL").
    backup user @'localhost': the backup tool connects over the socket only, so the account cannot be
    used from the network at all. With the CLONE plugin the recipient connects to the donor over the
    network instead: `backup_host` "%", `backup_require` " REQUIRE SSL".
    """
    # Account names are quoted with backticks so that the templates hold no single quote (flavor.env
    # quotes every value in single quotes); the scripts substitute the user names as string literals.
    replication = "CREATE USER {{REPLICATION_USER}}@`%` IDENTIFIED BY {{REPLICATION_PASSWORD}}"
    return (
        "SET SESSION sql_log_bin = 0;\n"
        "ALTER USER `root`@`localhost` IDENTIFIED BY {{ROOT_PASSWORD}};\n"
        "CREATE USER `root`@`%` IDENTIFIED BY {{ROOT_PASSWORD}};\n"
        "GRANT ALL PRIVILEGES ON *.* TO `root`@`%` WITH GRANT OPTION;\n"
        f"{root_extra}"
        f"{replication}{replication_require};\n"
        "GRANT REPLICATION SLAVE ON *.* TO {{REPLICATION_USER}}@`%`;\n"
        f"{backup_account(backup_host, backup_require, backup_grants, backup_table_grants, hashed=False)}"
        f"{replication_monitor_grant}\n"
        f"{local_admin}"
    )


def backup_account(
    host: str, require: str, grants: tuple[str, ...], table_grants: tuple[str, ...], *, hashed: bool
) -> str:
    """The backup account and its grants (`init_accounts`, `Flavor.backup_account`); `hashed`: its password
    given as the server's hash (`rotate_passwords`)."""
    account = f"{{{{BACKUP_USER}}}}@`{host}`"
    password = "PASSWORD {{BACKUP_PASSWORD_HASH}}" if hashed else "{{BACKUP_PASSWORD}}"
    return (
        f"CREATE USER IF NOT EXISTS {account} IDENTIFIED BY {password}{require};\n"
        f"GRANT {', '.join(grants)} ON *.* TO {account};\n"
        + "".join(f"GRANT SELECT ON {table} TO {account};\n" for table in table_grants)
    )


# The pod-local administrator: the name of the operating-system user the database servers run as in every
# image this program runs (the official images and the local ones: `mysql`, uid 999), which MariaDB's
# unix_socket requires the account's name to equal.
LOCAL_ADMIN_USER = "mysql"


def local_admin(identified: str) -> str:
    """`local_admin` of a flavor whose socket authentication is `IDENTIFIED <identified>`."""
    account = f"`{LOCAL_ADMIN_USER}`@`localhost`"
    return (
        f"CREATE USER IF NOT EXISTS {account} IDENTIFIED {identified};\n"
        f"GRANT ALL PRIVILEGES ON *.* TO {account} WITH GRANT OPTION;\n"
    )


def rotate_passwords(*, backup_host: str = "localhost", hashed: bool = False) -> str:
    """The cluster's accounts get the Secret's current passwords (`init_accounts` created them).

    Binlogged on purpose, unlike `init_accounts`: every replica applies the same change, so its root login and
    its backup account follow the primary's. `IDENTIFIED BY` keeps each account's authentication plugin.
    `hashed`: the statements carry the hashes `account_hashes_sql` computed (`IDENTIFIED BY PASSWORD`), for a
    server that writes the statement into its binary log as it was given (MariaDB: a password in clear there
    is read by every replication client and kept on every pod's volume until the logs expire).
    """

    def identified(password: str) -> str:
        return (
            f"IDENTIFIED BY PASSWORD {{{{{password}_HASH}}}}"
            if hashed
            else f"IDENTIFIED BY {{{{{password}}}}}"
        )

    return (
        f"ALTER USER `root`@`localhost` {identified('ROOT_PASSWORD')};\n"
        f"ALTER USER `root`@`%` {identified('ROOT_PASSWORD')};\n"
        f"ALTER USER {{{{REPLICATION_USER}}}}@`%` {identified('REPLICATION_PASSWORD')};\n"
        f"ALTER USER {{{{BACKUP_USER}}}}@`{backup_host}` {identified('BACKUP_PASSWORD')};\n"
    )
