"""serverConfig's refusals hold however a name is spelled (issue 17, defect 3): the servers strip `loose_`,
`skip_`, `enable_`, `disable_`, `maximum_` and `autoset_` again and again, MariaDB reads a unique prefix of an
option's name as the option, and `#`, `\\` and quotes change a value in the option file. Every spelling of
tests/support/option_spellings.py (which the script tier shows a real server applying) is refused here."""

from __future__ import annotations

import pytest

from mysql_cluster import MySQLClusterArgs
from mysql_cluster.config import ConfigError
from mysql_cluster.server_config import ServerOptions, render
from tests.support.option_spellings import ACCEPTED_VALUES, BAD_VALUES, SPELLINGS, Spelling

pytestmark = pytest.mark.unit


def refusal(options: ServerOptions) -> str:
    with pytest.raises(ConfigError) as refused:
        MySQLClusterArgs(server_config=options)
    [problem] = refused.value.problems
    return problem


@pytest.mark.parametrize("spelling", SPELLINGS, ids=[s.label for s in SPELLINGS])
def test_every_spelling_a_server_reads_as_a_refused_option_is_refused(spelling: Spelling) -> None:
    problem = refusal({spelling.option: spelling.value})
    assert problem.startswith(f"serverConfig.{spelling.option}: got ")
    assert "allowed: no option the cluster manages" in problem


@pytest.mark.parametrize(
    ("option", "says"),
    [
        ("loose_loose_init_file", "the servers read it as init_file"),
        ("enable_loose_super_read_only", "the servers read it as super_read_only"),
        ("read_onl", "'read_onl' begins read_only"),
        ("replicat", "'replicat' begins replicate_*"),
        ("loose_loose_plugin_load_add", "read it as plugin_load_add, one of plugin_* (plugins"),
        ("general_log_file", "general_log_file: a file or directory"),
    ],
)
def test_the_refusal_says_how_the_server_reads_the_name(option: str, says: str) -> None:
    assert says in refusal({option: "x"})


@pytest.mark.parametrize(
    "option",
    [
        "replicate_do_db",
        "replicate_rewrite_db",
        "replicate_wild_ignore_table",
        "replicate_same_server_id",
        "replicate_events_marked_for_skip",
        "binlog_do_db",
        "binlog_ignore_db",
        "slave_skip_errors",
        "replica_skip_errors",
        "slave_exec_mode",
        "init_slave",
        "init_replica",
        "slave_run_triggers_for_rbr",
        "gtid_ignore_duplicates",
        "log_error",
        "log_basename",
        "general_log_file",
        "slow_query_log_file",
        "innodb_undo_directory",
        "innodb_tmpdir",
        "tmpdir",
        "some_future_option_file",
        "plugin_auth_socket",
        "auth_socket",
        "unix_socket",
        "clone",
        "early_plugin_load",
        "wsrep_provider",
        "debug_no_sync",
        "proxy_protocol_networks",
        "help",
    ],
)
def test_options_that_break_the_clusters_guarantees_are_refused(option: str) -> None:
    """Options the cluster never set but that would: filter, rewrite or skip what replicas apply, run SQL of
    their own on a replica, write files where the cluster keeps its state, load code, open other ports."""
    assert refusal({option: "x"}).startswith(f"serverConfig.{option}: got 'x'; allowed: no option")


@pytest.mark.parametrize(
    "option",
    [
        "general_log",
        "skip_general_log",
        "loose_slow_query_log",
        "lc_messages",
        "innodb_doublewrite",
        "log_bin_trust_function_creators",
        "log_error_verbosity",
        "binlog_format",
        "binlog_expire_logs_seconds",
        "slave_parallel_threads",
        "replica_parallel_workers",
        "maximum_max_connections",
        "skip_show_database",
        "port_open_timeout",
        "clone_max_data_bandwidth",
        "innodb_buffer_pool_size",
    ],
)
def test_options_that_are_their_own_full_names_are_accepted(option: str) -> None:
    """Tuning stays possible: a full option name that merely begins like a refused one is its own option."""
    assert render({option: 1})


@pytest.mark.parametrize("value", BAD_VALUES)
def test_values_the_option_file_would_read_otherwise_are_refused(value: str) -> None:
    problem = refusal({"init_connect": value})
    assert problem.startswith("serverConfig.init_connect: got ")
    assert "without '#'" in problem


@pytest.mark.parametrize("value", ACCEPTED_VALUES)
def test_plain_values_are_accepted_as_written(value: str) -> None:
    assert f"init_connect = {value}\n" in (render({"init_connect": value}) or "")
    MySQLClusterArgs(server_config={"init_connect": value})
