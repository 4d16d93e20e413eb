"""The Kubernetes grammars the configuration is checked against, and the cluster name rule."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mysql_cluster import MySQLCluster, MySQLClusterArgs, names
from mysql_cluster.validation import is_dns1123_subdomain, is_pinned_image, parse_quantity

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
    ],
)
def test_pinned_images_are_accepted(image: str) -> None:
    assert is_pinned_image(image)


@pytest.mark.parametrize(
    "image",
    ["mysql", "mysql:latest", "MySQL:8.4", "my sql:8.4", "mysql:", ":8.4", "mysql:8.4/x", "a" * 300 + ":1"],
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
    "name", ["MySQL", "1db", "db_1", "db-", "db.prod", "", "a" * (names.MAX_CLUSTER_NAME_LENGTH + 1)]
)
def test_bad_cluster_name_fails_before_any_resource(name: str, mocks: RecordingMocks) -> None:
    with pytest.raises(ValueError, match="invalid cluster name"):
        MySQLCluster(name, MySQLClusterArgs())
    assert mocks.resources == []
