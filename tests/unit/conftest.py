"""Pulumi mocks for the unit tier: every resource the component declares, recorded with inputs and options.

`deploy(...)` runs the component under `pulumi.runtime.test` (preview=False, so every apply runs) and returns
once the runtime has finished every registration; tests then assert on what Kubernetes would have received.
Tests about the component's own Outputs use `.apply(...)` and return the Output instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest
from pulumi.runtime.mocks import MockMonitor

from mysql_cluster import MySQLCluster, MySQLClusterArgs

PROJECT = "mysql-cluster"
PASSWORD_TYPE = "random:index/randomPassword:RandomPassword"
SECRET_KEYS = ("root-password", "replication-password", "backup-password")


def mock_password(resource_name: str) -> str:
    """Distinctive per resource, so a leak anywhere is found by a plain substring search."""
    return f"Pw{resource_name.replace('-', '')}Q7x"


@dataclass
class Recorded:
    typ: str
    name: str
    inputs: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    read_id: str | None = None  # set for a resource that is read (`.get`), not managed


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, existing_secret_keys: tuple[str, ...] = SECRET_KEYS) -> None:
        self.resources: list[Recorded] = []
        self.existing_secret_keys = existing_secret_keys  # what a read Secret holds

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ == PASSWORD_TYPE:
            outputs["result"] = mock_password(args.name)
        if args.resource_id and args.typ == "kubernetes:core/v1:Secret":
            namespace, name = args.resource_id.split("/")
            outputs = {
                "metadata": {"name": name, "namespace": namespace},
                "data": {key: "c2VjcmV0" for key in self.existing_secret_keys},
            }
        self.resources.append(Recorded(args.typ, args.name, args.inputs, read_id=args.resource_id or None))
        return args.resource_id or f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


class RecordingMonitor(MockMonitor):
    """Also records the resource options that never reach `new_resource` (timeouts, ignoreChanges, ...)."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.options: dict[tuple[str, str], dict[str, Any]] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        self.options[(request.type, request.name)] = {
            "parent": request.parent,
            "dependencies": list(request.dependencies),
            "ignore_changes": list(request.ignoreChanges),
            "retain_on_delete": request.retainOnDelete,
            # Each alias as (type, name): an alias spec leaves unset what stays as it is ("").
            "aliases": [(alias.spec.type, alias.spec.name) for alias in request.aliases],
            "custom_timeouts": {
                "create": request.customTimeouts.create,
                "update": request.customTimeouts.update,
            },
        }
        return super().RegisterResource(request)


@dataclass
class Rendered:
    """Everything one program run declared."""

    resources: list[Recorded]
    outputs: dict[str, Any]
    secret_outputs: set[str]

    def all(self, typ: str) -> list[Recorded]:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str, name: str) -> Recorded:
        found = [r for r in self.resources if r.typ == typ and r.name == name]
        assert len(found) == 1, f"expected one {typ} named {name!r}, found {len(found)}"
        return found[0]

    def statefulset(self, name: str = "mysql") -> dict[str, Any]:
        return self.one("kubernetes:apps/v1:StatefulSet", name).inputs

    def pod_spec(self, name: str = "mysql") -> dict[str, Any]:
        spec: dict[str, Any] = self.statefulset(name)["spec"]["template"]["spec"]
        return spec

    def container(self, container: str, name: str = "mysql") -> dict[str, Any]:
        spec = self.pod_spec(name)
        found = [c for c in spec["initContainers"] + spec["containers"] if c["name"] == container]
        assert len(found) == 1, f"expected one container {container!r}"
        return found[0]

    def service(self, name: str) -> dict[str, Any]:
        return self.one("kubernetes:core/v1:Service", name).inputs

    def text(self, *, exclude_types: tuple[str, ...] = ()) -> str:
        """Every recorded input as one JSON text, for leak searches."""
        kept = [r.inputs for r in self.resources if r.typ not in exclude_types]
        return json.dumps(kept, sort_keys=True, default=str)


Deploy = Callable[..., Rendered]


@pytest.fixture
def deploy() -> Iterator[Deploy]:
    """`deploy(args, *, names=("mysql",), config=None)`: run the component(s), return what they declared."""

    def run(
        args: MySQLClusterArgs | None = None,
        *,
        names: tuple[str, ...] = ("mysql",),
        config: dict[str, str] | None = None,
        existing_secret_keys: tuple[str, ...] = SECRET_KEYS,
    ) -> Rendered:
        mocks = RecordingMocks(existing_secret_keys)
        monitor = RecordingMonitor(mocks)
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="unit", preview=False, monitor=monitor)
        pulumi.runtime.set_all_config({f"{PROJECT}:{k}": v for k, v in (config or {}).items()})
        outputs: dict[str, Any] = {}
        secret: set[str] = set()

        @pulumi.runtime.test
        def program() -> pulumi.Output[Any]:
            cluster_args = args if args is not None else MySQLClusterArgs.from_config(pulumi.Config())
            clusters = [MySQLCluster(name, cluster_args) for name in names]
            exported = {
                f"{name}.{key}" if len(names) > 1 else key: value
                for name, cluster in zip(names, clusters, strict=True)
                for key, value in cluster.outputs().items()
            }

            async def collect() -> None:
                for key, value in exported.items():
                    output = pulumi.Output.from_input(value)
                    outputs[key] = await output.future()
                    if await output.is_secret():
                        secret.add(key)

            return pulumi.Output.from_input(collect())

        program()
        for recorded in mocks.resources:
            recorded.options = monitor.options.get((recorded.typ, recorded.name), {})
        assert outputs, "the program's outputs were never collected"
        return Rendered(mocks.resources, outputs, secret)

    yield run
    pulumi.runtime.set_all_config({})


@pytest.fixture
def mocks() -> Iterator[RecordingMocks]:
    """Bare mocks, for tests that build the component themselves and assert with `.apply`."""
    recording = RecordingMocks()
    pulumi.runtime.set_mocks(recording, project=PROJECT, stack="unit", preview=False)
    pulumi.runtime.set_all_config({})
    yield recording
    pulumi.runtime.set_all_config({})
