"""kubectl, the only way the tool touches Kubernetes: read the password Secret and the StatefulSet, find pod
IPs, port-forward.

Port-forwarding reaches every pod from the operator's machine without exposing a Service:
`kubectl port-forward pod/<name> :3306` listens on a free local port and prints
`Forwarding from 127.0.0.1:<port> -> 3306` on stdout, then a line per connection; the output is drained
for as long as the forward runs so that kubectl never blocks on a full pipe.
"""

from __future__ import annotations

import base64
import contextlib
import json
import queue
import re
import subprocess
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .model import Address, ConfigError, Password

FORWARDING = re.compile(r"^Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)")
KUBECTL_TIMEOUT = 30.0  # seconds for one `kubectl get`; the API server answers in well under that


@dataclass(frozen=True)
class Kubectl:
    """kubectl bound to one context (None: the current one) and one namespace."""

    namespace: str
    context: str | None = None
    executable: str = "kubectl"

    def command(self, *args: str) -> list[str]:
        context = ["--context", self.context] if self.context else []
        return [self.executable, *context, "--namespace", self.namespace, *args]

    def get(self, *args: str) -> str:
        """stdout of `kubectl get ...`; a ConfigError with kubectl's own message when it fails."""
        try:
            result = subprocess.run(
                self.command("get", *args),
                capture_output=True,
                text=True,
                timeout=KUBECTL_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ConfigError(f"kubectl get {args[0]} {args[1]}: {error}") from None
        if result.returncode != 0:
            raise ConfigError(f"kubectl get {args[0]} {args[1]}: {result.stderr.strip()}")
        return result.stdout

    def secret_value(self, secret: str, key: str) -> Password:
        """One key of a Secret, decoded. Neither the value nor kubectl's stdout is ever shown."""
        encoded = self.get("secret", secret, "-o", f"jsonpath={{.data.{key}}}").strip()
        if not encoded:
            raise ConfigError(f"secret {self.namespace}/{secret} has no key {key!r}")
        try:
            return Password(base64.b64decode(encoded, validate=True).decode())
        except ValueError:
            raise ConfigError(f"secret {self.namespace}/{secret} key {key!r} is not base64 text") from None

    def statefulset(self, name: str) -> dict[str, Any]:
        """The StatefulSet object as the API server returns it; ConfigError when it is missing."""
        try:
            text = self.get("statefulset", name, "-o", "json")
        except ConfigError as error:
            if "(NotFound)" not in str(error):
                raise
            context = f"context {self.context}" if self.context else "the current context"
            raise ConfigError(
                f"statefulset {name} not found in namespace {self.namespace} ({context}): "
                "check --namespace, --statefulset and --context, or the stack outputs"
            ) from None
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            obj = None
        if not isinstance(obj, dict) or obj.get("kind") != "StatefulSet":
            raise ConfigError(f"kubectl get statefulset {name}: printed no StatefulSet")
        return obj

    def pod_ip(self, pod: str) -> str:
        ip = self.get("pod", pod, "-o", "jsonpath={.status.podIP}").strip()
        if not ip:
            raise ConfigError(f"pod {self.namespace}/{pod} has no IP yet")
        return ip


class PortForward:
    """One running `kubectl port-forward pod/<pod> :<port>`; `address` is where it listens."""

    def __init__(self, kubectl: Kubectl, pod: str, remote_port: int) -> None:
        self.pod = pod
        self._lines: queue.Queue[str | None] = queue.Queue()
        command = kubectl.command("port-forward", "--address", "127.0.0.1", f"pod/{pod}", f":{remote_port}")
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def address(self, timeout: float) -> Address:
        """The local address, once kubectl says it listens; OSError with kubectl's output when it does not."""
        said: list[str] = []
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise OSError(
                    f"kubectl port-forward gave no port within {timeout:g}s: {' '.join(said)}"
                ) from None
            if line is None:
                raise OSError(f"kubectl port-forward ended: {' '.join(said) or 'no output'}")
            match = FORWARDING.match(line)
            if match:
                return Address("127.0.0.1", int(match[1]))
            said.append(line)

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


@contextlib.contextmanager
def port_forwards(
    kubectl: Kubectl, pods: Sequence[str], remote_port: int, timeout: float
) -> Iterator[dict[str, Address | str]]:
    """A local address for every pod (or why there is none), all forwards torn down on exit."""
    forwards: list[PortForward] = []
    try:
        endpoints: dict[str, Address | str] = {}
        for pod in pods:
            try:
                forwards.append(PortForward(kubectl, pod, remote_port))
            except OSError as error:
                endpoints[pod] = f"cannot run kubectl: {error}"
        for forward in forwards:
            try:
                endpoints[forward.pod] = forward.address(timeout)
            except OSError as error:
                endpoints[forward.pod] = str(error)
        yield endpoints
    finally:
        for forward in forwards:
            forward.stop()
