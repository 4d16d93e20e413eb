"""The Kubernetes grammars the configuration is checked against, and the cluster name rule."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mysql_cluster import MySQLCluster, MySQLClusterArgs, names
from mysql_cluster.limits import format_quantity
from mysql_cluster.validation import has_unit, is_dns1123_subdomain, is_pinned_image, parse_quantity, shown

from .conftest import RecordingMocks

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10Gi", 10 * 2**30),
        ("1Ki", 1024),
        ("1.5Gi", 3 * 2**29),
        ("500m", Decimal("0.5")),
        ("2", 2),
        ("0.5", Decimal("0.5")),
        (".5", Decimal("0.5")),
        ("1e3", 1000),
        ("1E-3", Decimal("0.001")),
        ("5k", 5000),
        ("1M", 10**6),
        ("1E", 10**18),
        ("+1G", 10**9),
        ("-1G", -(10**9)),
    ],
)
def test_valid_quantities_have_their_kubernetes_value(text: str, value: int | Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize(("text", "value"), [("1e999999999", Decimal("Infinity")), ("1e-999999999", 0)])
def test_absurd_exponents_are_valued_without_computing_them(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        *[("10Gi", True), ("1E", True), ("10Ei", True), ("5k", True), ("500m", True)],
        *[("1024", False), ("1e9", False), ("1E-3", False), ("2.5", False)],
    ],
)
def test_a_bare_number_has_no_unit(text: str, unit: bool) -> None:
    assert has_unit(text) is unit


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (Decimal(2**28), "bytes", "256Mi"),
        (Decimal(3 * 2**29), "bytes", "1536Mi"),
        (Decimal(2**50), "bytes", "1Pi"),
        (Decimal("0.1"), "CPUs", "100m"),
        (Decimal(256), "CPUs", "256"),
        (Decimal("0.01"), "CPUs", "10m"),
    ],
)
def test_bounds_are_written_as_users_write_them(value: Decimal, unit: str, text: str) -> None:
    assert format_quantity(value, unit) == text


def test_long_values_are_shown_shortened() -> None:
    assert shown("a" * 5000).endswith("... (5002 characters)")
    assert len(shown("a" * 5000)) < 100
    assert shown(10**5000) == "an integer too long to show"


@pytest.mark.parametrize(
    "text", ["", "Gi", "10GB", "10gi", "10 Gi", "1.2.3", "1e", "1Gi ", "ten", "1K", "0x10"]
)
def test_invalid_quantities_are_refused(text: str) -> None:
    assert parse_quantity(text) is None


@pytest.mark.parametrize(
    "image",
    [
        "mysql:8.4",
        "localhost/mysql-cluster/mariadb:10.11",
        "registry.example.com:5000/team/mysql:8.4.3-oracle",
        "docker.io/library/mariadb:11.4",
        "percona/percona-xtrabackup@sha256:" + "a" * 64,
        "mysql:8.4@sha256:" + "0" * 64,
        "mysql:latest@sha256:" + "0" * 64,  # pulled by digest: the tag does not move it
        "mysql@sha512:" + "f" * 128,
    ],
)
def test_pinned_images_are_accepted(image: str) -> None:
    assert is_pinned_image(image)


@pytest.mark.parametrize(
    "image",
    [
        *[
            "mysql",
            "mysql:latest",
            "MySQL:8.4",
            "my sql:8.4",
            "mysql:",
            ":8.4",
            "mysql:8.4/x",
            "a" * 300 + ":1",
        ],
        *["mysql:LATEST", "mysql@sha256:" + "A" * 64, "mysql@sha256:" + "a" * 63, "mysql@sha256:" + "a" * 65],
        *["mysql@md5:" + "a" * 32, "mysql@sha512:" + "a" * 64, "mysql:latest@sha256:abc"],
    ],
)
def test_unpinned_or_invalid_images_are_refused(image: str) -> None:
    assert not is_pinned_image(image)


@pytest.mark.parametrize(
    ("text", "valid"),
    [("a.b-c", True), ("cluster.local", True), ("a..b", False), ("-a", False), ("A", False)],
)
def test_dns_subdomains(text: str, valid: bool) -> None:
    assert is_dns1123_subdomain(text) is valid


@pytest.mark.parametrize("name", ["mysql", "db-1", "a" * names.MAX_CLUSTER_NAME_LENGTH])
def test_good_cluster_names(name: str) -> None:
    names.check_cluster_name(name)


@pytest.mark.parametrize(
    "name", ["MySQL", "1db", "db_1", "db-", "db.prod", "", "db\n", "a" * (names.MAX_CLUSTER_NAME_LENGTH + 1)]
)
def test_bad_cluster_name_fails_before_any_resource(name: str, mocks: RecordingMocks) -> None:
    with pytest.raises(ValueError, match="invalid cluster name"):
        MySQLCluster(name, MySQLClusterArgs())
    assert mocks.resources == []
