"""mysql_cluster.flavors: statements per flavor, removed syntax kept out of MySQL 8.4, rendered files that the
scripts can source, and every flavor variable the scripts use defined for every flavor. Pure Python."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from mysql_cluster.flavors import (
    DEFAULT_FLAVOR,
    SUPPORTED_VERSIONS,
    Flavor,
    UnknownFlavorError,
    get_flavor,
    render_config_files,
)

pytestmark = pytest.mark.unit

SCRIPTS = Path(__file__).resolve().parents[2] / "mysql_cluster" / "scripts"
ALL = [(name, version) for name, versions in SUPPORTED_VERSIONS.items() for version in versions]
MYSQL = [("mysql", version) for version in SUPPORTED_VERSIONS["mysql"]]
MARIADB = [("mariadb", version) for version in SUPPORTED_VERSIONS["mariadb"]]


def rendered(name: str, version: str) -> str:
    return "\n".join(render_config_files(get_flavor(name, version)).values())


def sourced(name: str, version: str) -> dict[str, str]:
    """What bash sees after `source flavor.env`: every variable the file sets."""
    env_file = render_config_files(get_flavor(name, version))["flavor.env"]
    keys = re.findall(r"^([A-Z_]+)=", env_file, re.MULTILINE)
    script = "set -euo pipefail; source /dev/stdin; " + "".join(
        f'printf "%s\\0%s\\0" {key} "${key}"; ' for key in keys
    )
    out = subprocess.run(["bash", "-c", script], input=env_file, capture_output=True, text=True, check=True)
    parts = out.stdout.split("\0")[:-1]
    return dict(zip(parts[::2], parts[1::2], strict=True))


def test_default_is_mysql_97() -> None:
    """The default is a flavor and version proven end to end here (README: what has been verified)."""
    assert DEFAULT_FLAVOR == "mysql"
    flavor = get_flavor(DEFAULT_FLAVOR)
    assert (flavor.name, flavor.version) == ("mysql", "9.7")
    assert get_flavor("mariadb").version == "10.11"


@pytest.mark.parametrize(("name", "version", "message"), [
    ("postgres", None, "unknown flavor 'postgres': supported flavors are mariadb, mysql"),
    ("mysql", "5.7", "unsupported mysql version '5.7': supported versions are 8.4, 9.7"),
    ("mysql", "8.0", "unsupported mysql version '8.0': MySQL 8.0 reached its end of life in April 2026; "
                     "use 8.4 or 9.7"),
    ("mariadb", "10.6", "unsupported mariadb version '10.6': supported versions are 10.11, 11.4, 11.8"),
])  # fmt: skip
def test_unsupported_flavors_are_refused_by_name(name: str, version: str | None, message: str) -> None:
    with pytest.raises(UnknownFlavorError, match=re.escape(message)):
        get_flavor(name, version)


@pytest.mark.parametrize(("name", "version", "image", "backup_image"), [
    ("mysql", "8.4", "mysql:8.4", "percona/percona-xtrabackup:8.4"),
    ("mysql", "9.7", "mysql:9.7", "mysql:9.7"),  # the CLONE plugin needs no backup tool image
    ("mariadb", "10.11", "mariadb:10.11", "mariadb:10.11"),
    ("mariadb", "11.4", "mariadb:11.4", "mariadb:11.4"),
    ("mariadb", "11.8", "mariadb:11.8", "mariadb:11.8"),
])  # fmt: skip
def test_images_and_identity(name: str, version: str, image: str, backup_image: str) -> None:
    flavor = get_flavor(name, version)
    assert (flavor.default_image, flavor.default_backup_image) == (image, backup_image)
    assert (flavor.run_as_user, flavor.run_as_group) == (999, 999)


REMOVED_IN_84 = [
    r"(?i)CHANGE\s+MASTER",
    r"(?i)\b(START|STOP|RESET)\s+SLAVE\b",
    r"(?i)SHOW\s+SLAVE",
    r"(?i)SHOW\s+MASTER\s+STATUS",
    r"(?i)RESET\s+MASTER",
    r"(?i)\bMASTER_[A-Z_]+",
    r"(?i)expire_logs_days",
    r"(?i)default_authentication_plugin",
    r"(?i)skip_slave_start|log_slave_updates|slave_parallel",
    r"\b(Slave_[A-Za-z_]+|Seconds_Behind_Master|Master_Host)\b",  # status columns, case-sensitive
]
# The only spellings of "slave" MySQL 8.4 and XtraBackup 8.4 still have: the privilege, the backup option
# and the file it writes.
SLAVE_ALLOWED = re.compile(r"REPLICATION SLAVE|--slave-info|xtrabackup_slave_info")


@pytest.mark.parametrize("pattern", REMOVED_IN_84)
@pytest.mark.parametrize(("name", "version"), MYSQL)
def test_mysql_emits_no_syntax_removed_in_84(name: str, version: str, pattern: str) -> None:
    flavor = get_flavor(name, version)
    text = rendered(name, version) + "\n" + "\n".join(str(value) for value in vars(flavor).values())
    assert re.search(pattern, text) is None


@pytest.mark.parametrize(("name", "version"), MYSQL)
def test_mysql_says_slave_only_where_nothing_else_exists(name: str, version: str) -> None:
    flavor = get_flavor(name, version)
    text = rendered(name, version) + "\n" + "\n".join(str(value) for value in vars(flavor).values())
    assert re.findall(r"slave", SLAVE_ALLOWED.sub("", text), re.IGNORECASE) == []


@pytest.mark.parametrize(("name", "version"), MYSQL)
def test_mysql_uses_the_new_binary_log_statements(name: str, version: str) -> None:
    flavor = get_flavor(name, version)
    assert flavor.show_binary_log_status == "SHOW BINARY LOG STATUS"
    assert "RESET BINARY LOGS AND GTIDS;" in flavor.apply_gtid_position


def test_mysql_84_and_97_take_the_same_statements() -> None:
    lts, newest = get_flavor("mysql", "8.4"), get_flavor("mysql", "9.7")
    # init_accounts differs only in the backup account (XtraBackup on the socket, the CLONE donor over TLS).
    statements = ("change_source", "apply_gtid_position", "show_replica_status", "start_replica",
                  "stop_replica", "reset_replica_all", "enforce_read_only")  # fmt: skip
    assert {name: getattr(lts, name) for name in statements} == {
        name: getattr(newest, name) for name in statements
    }


def test_mysql_97_is_seeded_by_the_clone_plugin_not_a_backup_tool() -> None:
    # Percona XtraBackup has no 9.x release: 9.7 replicas are seeded by the server's CLONE plugin.
    assert get_flavor("mysql", "8.4").seeding == "backup-stream"
    flavor = get_flavor("mysql", "9.7")
    assert flavor.seeding == "clone-plugin"
    assert (flavor.backup_binary, flavor.stream_binary, flavor.backup_checkpoints_file) == ("", "", "")
    assert sourced("mysql", "9.7")["SEEDING"] == "clone-plugin"
    assert "plugin_load_add = mysql_clone.so" in flavor.common_cnf
    assert "mysql_clone" not in get_flavor("mysql", "8.4").common_cnf
    for part in (
        "SET GLOBAL clone_valid_donor_list = {{DONOR_ADDRESS}};",
        "CLONE INSTANCE FROM {{BACKUP_USER}}@{{DONOR_HOST}}:{{DONOR_PORT}}",
        "DATA DIRECTORY = {{DATA_DIRECTORY}} REQUIRE SSL;",
    ):
        assert part in flavor.clone_instance


@pytest.mark.parametrize(("name", "version"), MYSQL)
def test_mysql_replication_statements(name: str, version: str) -> None:
    flavor = get_flavor(name, version)
    assert flavor.change_source.startswith("CHANGE REPLICATION SOURCE TO SOURCE_HOST = {{SOURCE_HOST}}")
    for option in (
        "SOURCE_AUTO_POSITION = 1",
        "SOURCE_SSL = 1",
        "SOURCE_PASSWORD = {{REPLICATION_PASSWORD}}",
    ):
        assert option in flavor.change_source
    # caching_sha2_password over TLS: no unverified public key fetch, and the account refuses plain text.
    assert "GET_SOURCE_PUBLIC_KEY" not in flavor.change_source
    assert "@`%` IDENTIFIED BY {{REPLICATION_PASSWORD}} REQUIRE SSL;" in flavor.init_accounts
    assert (flavor.start_replica, flavor.stop_replica) == ("START REPLICA", "STOP REPLICA")
    assert "SET GLOBAL gtid_purged = {{GTID_POSITION}};" in flavor.apply_gtid_position
    assert flavor.enforce_read_only == "SET GLOBAL super_read_only = ON"
    assert (flavor.io_running_column, flavor.sql_running_column) == (
        "Replica_IO_Running",
        "Replica_SQL_Running",
    )
    assert flavor.lag_column == "Seconds_Behind_Source"
    if flavor.seeding == "backup-stream":
        assert (flavor.backup_binary, flavor.stream_binary) == ("xtrabackup", "xbstream")


@pytest.mark.parametrize(("name", "version"), MYSQL)
def test_mysql_server_options(name: str, version: str) -> None:
    files = render_config_files(get_flavor(name, version))
    common = files["common.cnf"]
    for option in ("gtid_mode = ON", "enforce_gtid_consistency = ON", "skip_replica_start = ON",
                   "super_read_only = ON", "relay_log_recovery = ON", "log_bin = binlog"):  # fmt: skip
        assert re.search(rf"^{re.escape(option)}$", common, re.MULTILINE), option
    assert "super_read_only = ON" in files["replica.cnf"]
    assert "super_read_only = OFF" in files["primary.cnf"]


@pytest.mark.parametrize(("name", "version"), MARIADB)
def test_mariadb_replication_statements(name: str, version: str) -> None:
    flavor = get_flavor(name, version)
    assert flavor.change_source.startswith("CHANGE MASTER TO MASTER_HOST = {{SOURCE_HOST}}")
    assert "MASTER_USE_GTID = slave_pos" in flavor.change_source
    assert flavor.show_replica_status == "SHOW SLAVE STATUS"
    assert flavor.apply_gtid_position == "SET GLOBAL gtid_slave_pos = {{GTID_POSITION}};"
    assert (flavor.backup_binary, flavor.stream_binary) == ("mariadb-backup", "mbstream")
    assert flavor.default_image == flavor.default_backup_image


@pytest.mark.parametrize(("name", "version"), MARIADB)
def test_mariadb_server_options_and_read_only_design(name: str, version: str) -> None:
    files = render_config_files(get_flavor(name, version))
    for option in (
        "gtid_strict_mode = ON",
        "log_slave_updates = ON",
        "skip_slave_start = ON",
        "binlog_format = ROW",
        "slave_parallel_threads = 4",
        "slave_parallel_mode = optimistic",
    ):
        assert re.search(rf"^{re.escape(option)}$", files["common.cnf"], re.MULTILINE), option
    assert "read_only = ON" in files["replica.cnf"]
    settings = [line for text in files.values() for line in text.splitlines() if not line.startswith("#")]
    assert not [line for line in settings if "super_read_only" in line]  # MariaDB has none
    # read_only binds only accounts without READ_ONLY ADMIN: the network root account loses it.
    assert "REVOKE READ_ONLY ADMIN, FILE ON *.* FROM `root`@`%`;" in get_flavor(name, version).init_accounts


@pytest.mark.parametrize("version", ["11.4", "11.8"])
def test_mariadb_11_backup_files_carry_the_new_names(version: str) -> None:
    old, new = get_flavor("mariadb", "10.11"), get_flavor("mariadb", version)
    assert old.backup_checkpoints_file == "xtrabackup_checkpoints"
    assert (new.backup_checkpoints_file, new.backup_binlog_info_file, new.backup_replica_info_file) == (
        "mariadb_backup_checkpoints", "mariadb_backup_binlog_info", "mariadb_backup_slave_info"
    )  # fmt: skip


@pytest.mark.parametrize(("name", "version"), ALL)
def test_rendered_files_and_env_round_trip(name: str, version: str) -> None:
    flavor = get_flavor(name, version)
    files = render_config_files(flavor)
    assert set(files) == {"common.cnf", "primary.cnf", "replica.cnf", "flavor.env"}
    env = sourced(name, version)
    assert (env["FLAVOR_NAME"], env["FLAVOR_VERSION"]) == (name, version)
    assert env["SQL_CHANGE_SOURCE"] == flavor.change_source
    assert env["SQL_INIT_ACCOUNTS"] == flavor.init_accounts
    assert env["SQL_SHOW_REPLICA_STATUS"] == flavor.show_replica_status + ";"
    assert env["READ_ONLY_VARIABLES"].split() == list(flavor.read_only_variables)
    for cnf in ("common.cnf", "primary.cnf", "replica.cnf"):
        for line in files[cnf].splitlines():
            assert line == "" or line.startswith(("#", "[")) or re.fullmatch(r"[a-z_]+ = \S+", line), line


def test_every_flavor_variable_the_scripts_use_is_defined_for_every_flavor() -> None:
    contract = set(re.findall(r"^\| `([A-Z0-9_]+)`", (SCRIPTS / "README.md").read_text(), re.MULTILINE))
    contract |= {"MYSQL_ROOT_PASSWORD", "MYSQL_REPLICATION_PASSWORD", "MYSQL_BACKUP_PASSWORD", "BACKUP_USER"}
    # Optional settings checked with `${NAME:-}` before their plain use (donor.sh, transport.sh).
    contract |= {"CLONE_DONORS", "CLONE_FIXED_DONOR", "TRANSPORT_VOLUME"}
    libraries = "".join(
        (SCRIPTS / name).read_text()
        for name in (
            "lib.sh",
            "passwords.sh",
            "transport.sh",
            "transport-socat.sh",
            "transport-openssl.sh",
            "donor.sh",
            "s3.sh",
            "backup-source.sh",
        )
    )
    defined_by_lib = set(re.findall(r"^\s*([A-Z0-9_]+)=", libraries, re.MULTILINE))
    for coproc in re.findall(
        r"^\s*coproc ([A-Z0-9_]+) ", libraries, re.MULTILINE
    ):  # bash sets NAME, NAME_PID
        defined_by_lib |= {coproc, f"{coproc}_PID"}
    # Variables the scripts use without a default (`${NAME:-...}` marks optional environment).
    scripts = "\n".join(path.read_text() for path in SCRIPTS.glob("*.sh"))
    used = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]+)(?!:-)\b", scripts))
    flavor_vars = used - contract - defined_by_lib - {"BASH_REMATCH", "BASH_SOURCE", "PIPESTATUS"}
    assert "SQL_CHANGE_SOURCE" in flavor_vars  # the extraction works
    for name, version in ALL:
        missing = flavor_vars - set(sourced(name, version))
        assert not missing, f"{name} {version}: flavor.env lacks {sorted(missing)}"


@pytest.mark.parametrize(("name", "version"), ALL)
def test_check_tool_fields_are_complete(name: str, version: str) -> None:
    flavor = get_flavor(name, version)
    assert isinstance(flavor, Flavor)
    columns = (
        flavor.io_running_column,
        flavor.sql_running_column,
        flavor.lag_column,
        flavor.source_host_column,
        flavor.source_port_column,
        flavor.last_io_errno_column,
        flavor.last_io_error_column,
        flavor.last_sql_errno_column,
        flavor.last_sql_error_column,
    )
    assert all(re.fullmatch(r"[A-Z][A-Za-z_]+", column) for column in columns)
    assert flavor.gtid_executed_variable in {"gtid_executed", "gtid_current_pos"}
    assert set(flavor.read_only_variables) <= {"read_only", "super_read_only"}
    assert (flavor.server_uuid_variable is None) == (name == "mariadb")


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS["mysql"])
def test_mysql_network_root_cannot_lift_super_read_only_or_touch_files(version: str) -> None:
    # Issue 7, defect 5: with ALL PRIVILEGES, root@'%' could SET GLOBAL super_read_only = OFF.
    accounts = get_flavor("mysql", version).init_accounts
    grant = accounts.index("GRANT ALL PRIVILEGES ON *.* TO `root`@`%`")
    revoke = accounts.index("REVOKE SYSTEM_VARIABLES_ADMIN, SUPER, FILE ON *.* FROM `root`@`%`;")
    assert grant < revoke


@pytest.mark.parametrize(("name", "version"), ALL)
def test_password_rotation_alters_every_account_binlogged(name: str, version: str) -> None:
    # Binlogged (no sql_log_bin = 0), so replicas apply the same hashes; the backup account where it lives.
    flavor = get_flavor(name, version)
    backup_host = "%" if flavor.seeding == "clone-plugin" else "localhost"
    # MariaDB logs the statement as given: it carries the hashes (issue 17, defect 1).
    by = "IDENTIFIED BY PASSWORD {{%s_HASH}}" if name == "mariadb" else "IDENTIFIED BY {{%s}}"
    assert bool(flavor.account_hashes_sql) == (name == "mariadb")
    assert flavor.rotate_passwords.splitlines() == [
        f"ALTER USER `root`@`localhost` {by % 'ROOT_PASSWORD'};",
        f"ALTER USER `root`@`%` {by % 'ROOT_PASSWORD'};",
        f"ALTER USER {{{{REPLICATION_USER}}}}@`%` {by % 'REPLICATION_PASSWORD'};",
        f"ALTER USER {{{{BACKUP_USER}}}}@`{backup_host}` {by % 'BACKUP_PASSWORD'};",
    ]
    assert f"{{{{BACKUP_USER}}}}@`{backup_host}` IDENTIFIED BY" in flavor.init_accounts
    assert sourced(name, version)["SQL_ROTATE_PASSWORDS"] == flavor.rotate_passwords
    # The primary's init file is never binlogged: it keeps the passwords themselves (no server to hash them).
    clear = (
        flavor.rotate_passwords if name == "mysql" else flavor.rotate_passwords.replace(" PASSWORD {{", " {{")
    )
    assert flavor.init_passwords == clear.replace("_HASH}}", "}}")
