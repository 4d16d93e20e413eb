"""The PyPI pins of pyproject.toml follow the toolchain's pins (e2e/toolchain/versions.env): the SDKs users
install are the ones the end-to-end tier runs with its built plugins."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


def _pins() -> dict[str, str]:
    text = (REPO / "e2e/toolchain/versions.env").read_text()
    return dict(re.findall(r"^([A-Z0-9_]+)=(\S*)$", text, re.MULTILINE))


def _dependencies() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pinned = (re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", d) for d in project["dependencies"])
    return {m.group(1): m.group(2) for m in pinned if m}


def _release(build_version: str) -> str:
    """The release a plugin's build version stands for (a pre-release of it names an unreleased commit)."""
    return re.sub(r"-alpha\.\d+\+[0-9a-f]+$", "", build_version)


def test_pypi_pins_match_the_toolchain() -> None:
    pins, deps = _pins(), _dependencies()
    assert deps["pulumi"] == pins["PULUMI_VERSION"]
    assert deps["pulumi-kubernetes"] == pins["PULUMI_KUBERNETES_VERSION"]
    assert deps["pulumi-random"] == pins["PULUMI_RANDOM_VERSION"]
    assert _release(pins["PULUMI_KUBERNETES_PROVIDER_BUILD_VERSION"]) == pins["PULUMI_KUBERNETES_VERSION"]
    assert _release(pins["PULUMI_RANDOM_PROVIDER_BUILD_VERSION"]) == pins["PULUMI_RANDOM_VERSION"]


def test_language_host_is_built_at_the_cli_version() -> None:
    pins = _pins()
    assert pins["PULUMI_LANGUAGE_PYTHON_VERSION"] == pins["PULUMI_VERSION"]


def test_every_source_archive_is_pinned_by_checksum() -> None:
    pins = _pins()
    archives = [key for key in pins if key.endswith("_SOURCE")]
    assert archives, "no source archive pinned"
    for key in archives:
        assert re.fullmatch(r"[0-9a-f]{64}", pins.get(f"{key}_SHA256", "")), f"{key} has no sha256 pin"
