"""Reading stack configuration: the keys of the project's namespace, as typed values, and every mistake.

Pulumi hands every value to the program as text (objects as JSON text), from YAML, `pulumi config set` or
`--path` alike. The reader is lenient on spelling ("3" or 3, "true" or true) and strict on meaning. What it
cannot read is reported with its key and left out (the default applies), so ONE error lists every problem.
Keys set where this program never looks (`mysql:replicas` instead of `mysql-cluster:replicas`, a typo such as
`replica`) are mistakes too: silently ignored, they would deploy something other than what was written.
Values set with `--secret` are read like the others and never shown in an error.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from mysql_cluster.limits import INTEGER_RANGES, integer_range
from mysql_cluster.validation import Problems, is_int, secret_values, shown

_INTEGER_KEYS = tuple(INTEGER_RANGES)
_BOOLEAN_KEYS = ("createNamespace", "primaryServesReads")
OBJECT_KEYS = {
    "pvcRetention": ("whenDeleted", "whenScaled"),
    "resources": ("server", "sidecar"),
    "networkPolicy": ("enabled", "allowDatabaseFrom"),
}
# Objects whose keys are the user's own (server option names): read whole, validated by server_config.py.
FREE_OBJECT_KEYS = ("serverConfig",)
RESOURCE_NAMES = ("cpu", "memory", "ephemeral-storage")
# Namespaces of the engine and of the providers this program uses, with the keys they define that share a
# name with one of ours: `kubernetes:namespace` is the provider's default namespace, not a mistake.
_ENGINE_NAMESPACE = "pulumi"
_PROVIDER_KEYS = frozenset({"kubernetes:namespace"})
# Far beyond every range; longer text is not even converted (Python refuses to convert 4300 digits and more).
_MAX_INTEGER_DIGITS = 20
_INVALID: Any = object()


def read(
    config: pulumi.Config, keys: Mapping[str, str], *, reject_unknown_keys: bool
) -> tuple[dict[str, Any], list[str], frozenset[str]]:
    """The values set in namespace `config.name`, by attribute name (objects as plain dicts of attribute
    names); the problems found; the keys whose values are secret. `keys` maps each key to its attribute."""
    everything = _all_config()
    secret = _secret_keys(everything)
    prefix = f"{config.name}:"
    ours = frozenset(key[len(prefix) :] for key in secret if key.startswith(prefix))
    with secret_values(ours):
        reader = _Reader()
        if reject_unknown_keys:
            _check_key_names(reader.problems, config.name, everything, list(keys), secret)
        values: dict[str, Any] = {}
        for key, attribute in keys.items():
            raw = config.get(key)
            if raw is not None and (value := reader.value(key, raw)) is not _INVALID:
                values[attribute] = value
    return values, reader.problems.items, ours


def _all_config() -> dict[str, Any]:
    """Every configuration value, however the engine passed it (environment, or set by a test or host)."""
    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


def _secret_keys(everything: Mapping[str, Any]) -> frozenset[str]:
    """The keys set with `--secret` (the engine lists them in PULUMI_CONFIG_SECRET_KEYS)."""
    listed = set(runtime_config.get_config_secret_keys_env())
    return frozenset(
        key for key in {*everything, *listed} if key in listed or runtime_config.is_config_secret(key)
    )


def _check_key_names(
    problems: Problems,
    namespace: str,
    everything: Mapping[str, Any],
    known: list[str],
    secret: frozenset[str],
) -> None:
    """A problem for every key this program would silently ignore: an unknown key of its own namespace, and
    a key of another namespace that is meant for it (one of its keys, or a namespace spelled like its own)."""
    folded = {key.lower(): key for key in known}
    for full_key in sorted(everything):
        space, _, key = full_key.rpartition(":")
        value = "a value set as a secret (not shown)" if full_key in secret else shown(everything[full_key])
        if space == namespace:
            if key not in known:
                hint = _suggest(key, known)
                if key.split(".", 1)[0] in (*OBJECT_KEYS, *FREE_OBJECT_KEYS):  # `config set a.b v`, no --path
                    hint = f"; a nested value is set with `pulumi config set --path {key} <value>`"
                problems.items.append(
                    f"{key}: unknown configuration key, got {value}; allowed: the keys of the README's "
                    f"configuration table{hint}"
                )
            continue
        meant = folded.get(key.lower())
        looks_like_ours = _normalise(space) == _normalise(namespace)
        if space == _ENGINE_NAMESPACE or full_key in _PROVIDER_KEYS or not (meant or looks_like_ours):
            continue
        right = meant or "<key>"
        problems.items.append(
            f"{full_key}: got {value} in configuration namespace {space!r}, which this program does not read "
            f"(it reads {namespace!r}); allowed: {namespace}:{right} in the stack file, or "
            f"`pulumi config set {right} <value>` in the project"
        )


def _normalise(namespace: str) -> str:
    return re.sub(r"[^a-z0-9]", "", namespace.lower())


def _suggest(key: str, known: list[str]) -> str:
    """` (did you mean 'x'?)` for a near miss, else ''."""
    close = difflib.get_close_matches(key, known, n=1) or [k for k in known if k.lower() == key.lower()]
    return f" (did you mean {close[0]!r}?)" if close else ""


def _decode(raw: str) -> Any:
    """An object-valued key arrives as JSON text; anything else is returned as given, to be reported."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class _Reader:
    """Typed reads of decoded values; what cannot be read becomes a problem and `_INVALID`."""

    def __init__(self) -> None:
        self.problems = Problems()

    def value(self, key: str, raw: str) -> Any:
        if key in OBJECT_KEYS:
            read: dict[str, Callable[[str, Any], Any]] = {
                "pvcRetention": self.pvc_retention,
                "resources": self.resources,
                "networkPolicy": self.network_policy,
            }
            return read[key](key, _decode(raw))
        if key in FREE_OBJECT_KEYS:
            return _decode(raw)  # any JSON value: server_config.validate says what is wrong with it
        if key in _INTEGER_KEYS:
            return self.integer(key, raw)
        if key in _BOOLEAN_KEYS:
            return self.boolean(key, raw)
        return raw

    def _invalid(self, key: str, value: Any, allowed: str) -> Any:
        self.problems.add(key, value, allowed)
        return _INVALID

    def integer(self, key: str, value: Any) -> Any:
        if is_int(value):
            return value
        if isinstance(value, str) and re.fullmatch(rf"\s*[+-]?[0-9]{{1,{_MAX_INTEGER_DIGITS}}}\s*", value):
            return int(value)
        return self._invalid(key, value, integer_range(key))

    def boolean(self, key: str, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        return self._invalid(key, value, "true | false")

    def text(self, key: str, value: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):  # `cpu: 1` in YAML
            return str(value)
        return self._invalid(key, value, "a string")

    def mapping(self, key: str, value: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
        """The object's known keys (unknown ones are problems); {} and a problem when it is no object."""
        if not isinstance(value, dict):
            self.problems.add(key, value, f"an object with keys {', '.join(allowed)}")
            return {}
        for unknown in sorted(set(value) - set(allowed)):
            hint = _suggest(unknown, list(allowed))
            self.problems.add(f"{key}.{unknown}", value[unknown], f"only keys {', '.join(allowed)}{hint}")
        return {k: v for k, v in value.items() if k in allowed}

    def pvc_retention(self, key: str, value: Any) -> dict[str, Any]:
        obj = self.mapping(key, value, OBJECT_KEYS[key])
        texts = {
            attr: self.text(f"{key}.{sub}", obj[sub])
            for sub, attr in (("whenDeleted", "when_deleted"), ("whenScaled", "when_scaled"))
            if sub in obj
        }
        return {attr: text for attr, text in texts.items() if text is not _INVALID}

    def resources(self, key: str, value: Any) -> dict[str, Any]:
        # A container given replaces that container's defaults wholesale: what is written is what is applied.
        obj = self.mapping(key, value, OBJECT_KEYS[key])
        return {name: self._container(f"{key}.{name}", spec) for name, spec in obj.items()}

    def _container(self, key: str, value: Any) -> dict[str, dict[str, str]]:
        obj = self.mapping(key, value, ("requests", "limits"))
        parts: dict[str, dict[str, str]] = {}
        for part, quantities in obj.items():
            named = self.mapping(f"{key}.{part}", quantities, RESOURCE_NAMES)
            texts = {name: self.text(f"{key}.{part}.{name}", q) for name, q in named.items()}
            parts[part] = {name: q for name, q in texts.items() if q is not _INVALID}
        return parts

    def network_policy(self, key: str, value: Any) -> dict[str, Any]:
        obj = self.mapping(key, value, OBJECT_KEYS[key])
        values: dict[str, Any] = {}
        if "enabled" in obj and (enabled := self.boolean(f"{key}.enabled", obj["enabled"])) is not _INVALID:
            values["enabled"] = enabled
        if "allowDatabaseFrom" in obj:
            source = obj["allowDatabaseFrom"]
            values["allow_database_from"] = tuple(source) if isinstance(source, list) else source
        return values
