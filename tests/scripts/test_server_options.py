"""serverConfig's refusals against the real servers (issue 17, defect 3): every spelling the unit tier refuses
(tests/support/option_spellings.py) is one a real server reads as the refused option, and the tables of
mysql_cluster/server_options.py hold for every option the servers list. The servers read the cluster's own
common.cnf and replica.cnf and then the line serverConfig would render, as a pod's my.cnf orders them, and
print what they made of it (`--help --verbose`: options are read, nothing starts; a second or so each)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from mysql_cluster import server_options
from mysql_cluster.flavors import Flavor, get_flavor, render_config_files
from mysql_cluster.server_config import render
from tests.scripts.conftest import SCRIPT_FLAVORS, flavor_id
from tests.support.option_spellings import ACCEPTED_VALUES, BAD_VALUES, SPELLINGS, TRUNCATED, Spelling
from tests.support.pods import Cluster

pytestmark = pytest.mark.scripts

_OPTION = re.compile(r"^  (?:-\S, )?--([a-z0-9][a-z0-9_-]*)", re.MULTILINE)
_REFUSED_NAME = re.compile(r"unknown (?:variable|option)|ambiguous option")


@dataclass(frozen=True)
class Reading:
    """What a server made of an option file: its variables' values, the options it lists, its complaints."""

    values: dict[str, str]
    options: set[str]
    complaints: list[str]


class Server:
    """A flavor's server program, run on option files (inside its image's root filesystem when not on this
    host)."""

    def __init__(self, flavor: Flavor, cluster: Cluster) -> None:
        self.flavor, self.cluster = flavor, cluster
        files = render_config_files(flavor)
        self.baseline = files["common.cnf"] + "\n" + files["replica.cnf"]
        self._count = 0

    def _run(self, *args: str) -> tuple[str, str]:
        """stdout and stderr of the server program (bytes as the server wrote them: it may cut a UTF-8
        sequence in two)."""
        done = subprocess.run(
            [*self.cluster.prefix, self.flavor.server_binary, *args],
            capture_output=True,
            timeout=60,
            check=False,
        )
        return done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")

    def read(self, extra: str = "") -> Reading:
        self._count += 1
        path = self.cluster.root / f"options-{self._count}.cnf"
        path.write_text(f"{self.baseline}\n{extra}")
        path.chmod(0o644)
        stdout, stderr = self._run(f"--defaults-file={path}", "--help", "--verbose")
        if self.flavor.name == "mysql":  # MySQL's --help passes over unknown options; this does not
            stderr += self._run(f"--defaults-file={path}", "--validate-config")[1]
        table = stdout.split("-" * 20, 1)[-1].split("\n\n", 1)[0]
        values = {
            fields[0]: "".join(fields[1:]) for fields in (line.split(None, 1) for line in table.splitlines())
        }
        return Reading(
            values=values,
            options={name.replace("-", "_") for name in _OPTION.findall(stdout)},
            complaints=[line for line in stderr.splitlines() if _REFUSED_NAME.search(line)],
        )


@pytest.fixture(scope="module", params=SCRIPT_FLAVORS, ids=flavor_id)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    flavor = get_flavor(*request.param)
    with Cluster(flavor) as cluster:
        yield Server(flavor, cluster)


@pytest.fixture(scope="module")
def baseline(server: Server) -> Reading:
    reading = server.read()
    assert not reading.complaints, reading.complaints
    assert len(reading.options) > 500, "the option list was not parsed"
    return reading


@pytest.mark.parametrize("spelling", SPELLINGS, ids=[s.label for s in SPELLINGS])
def test_every_refused_spelling_is_one_the_server_applies(
    server: Server, baseline: Reading, spelling: Spelling
) -> None:
    if server.flavor.name not in spelling.flavors:
        pytest.skip(f"{server.flavor.name} reads {spelling.option} otherwise")
    line = render({spelling.option: spelling.value}) or ""
    after = server.read(line)
    assert not after.complaints, f"{spelling.option}: the server does not know it: {after.complaints}"
    changed = [name for name in spelling.variables if after.values.get(name) != baseline.values.get(name)]
    listed = [name for name in spelling.variables if name in baseline.values or name in after.values]
    if listed:
        assert changed, f"{line!r} changed none of {listed}: {[baseline.values.get(n) for n in listed]}"
    else:  # an option without a value column (the replication filters): known as written is the proof
        assert server_options.normalized(spelling.option).replace("_", "-") in spelling.variables


def test_a_hash_cuts_the_value_where_it_stands(server: Server) -> None:
    option, value, read = TRUNCATED
    reading = server.read(render({option: value}) or "")
    assert reading.values[option.replace("_", "-")] == read


@pytest.mark.parametrize("value", [v for v in BAD_VALUES if v.isprintable()])
def test_every_refused_value_is_one_the_server_reads_otherwise(server: Server, value: str) -> None:
    reading = server.read(render({"init_connect": value}) or "")
    assert reading.values["init-connect"] != value


@pytest.mark.parametrize("value", ACCEPTED_VALUES)
def test_every_accepted_value_is_read_as_written(server: Server, value: str) -> None:
    assert server.read(render({"init_connect": value}) or "").values["init-connect"] == value


def test_every_option_the_rules_refuse_is_refused_abbreviated_too(baseline: Reading) -> None:
    """An abbreviation is refused when it begins a name of the tables: every option the servers list that
    is refused (directly or behind a prefix) must be such a name, or MariaDB would take its prefixes."""
    targets = set().union(*(rule.names for rule in server_options.RULES), server_options.PATH_NAMES)
    stems = tuple(stem for rule in server_options.RULES for stem in rule.families)
    refused = {
        name
        for name in baseline.options
        if (found := server_options.refusal(name)) is not None and not found.abbreviation
    }
    untargeted = sorted(name for name in refused if name not in targets and not name.startswith(stems))
    assert not untargeted, "refused options missing from server_options' tables"


def test_no_full_option_name_is_refused_as_an_abbreviation(baseline: Reading) -> None:
    """The servers read an option's full name as that option: refusing it as the beginning of a longer one
    would take a tuning option from the user (server_options.FULL_NAMES lists those names)."""
    wrongly = sorted(
        name
        for name in baseline.options
        if (found := server_options.refusal(name)) is not None and found.abbreviation
    )
    assert not wrongly


def test_the_full_names_let_through_are_options_of_every_mariadb(server: Server, baseline: Reading) -> None:
    if server.flavor.name != "mariadb":
        pytest.skip("abbreviations are MariaDB's")
    assert not server_options.FULL_NAMES - baseline.options
