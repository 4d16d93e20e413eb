"""The facts a cluster's data is bound to once initialised, and the refusal of a configuration changing one.

- `flavor`: a server of the other flavor cannot open the data (nor may it try to upgrade it);
- `newest-version`: the newest server version a pod of the cluster has started; an older server cannot open
  data a newer one has upgraded, so only this version or a newer one is accepted;
- `server-id-offset`: pods roll one at a time, so a changed offset gives a rolled pod the `server_id` of one
  not rolled yet (replication between them stops with error 1593);
- `lower-case-table-names`, `innodb-page-size`: the server applies them only when it initialises its data.

Every pod's `label-pod` container records them in the cluster's state ConfigMap (scripts/cluster-facts.sh),
beside `initialised-claim`, when they are not recorded yet, raises `newest-version`, and refuses to start a
pod configured otherwise. The redeploy guard (redeploy_guard.py) refuses such a configuration before anything
changes, at `pulumi preview` and `pulumi up`, reading what the state ConfigMap recorded and, for what it has
not recorded yet (data initialised before these facts were), what its primary runs with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mysql_cluster import server_config
from mysql_cluster.config import MySQLClusterArgs

FLAVOR = "flavor"
NEWEST_VERSION = "newest-version"
SERVER_ID_OFFSET = "server-id-offset"
# The state ConfigMap's key of each initialisation-only server option (server_config.INIT_ONLY).
OPTION_KEYS = {"lower_case_table_names": "lower-case-table-names", "innodb_page_size": "innodb-page-size"}
KEYS = (FLAVOR, NEWEST_VERSION, SERVER_ID_OFFSET, *OPTION_KEYS.values())

_WHY = {
    FLAVOR: "a server of the other flavor cannot open this data; to move it, dump it (mysqldump or "
    "mariadb-dump) and load it into a new cluster",
    NEWEST_VERSION: "an older server cannot open data a newer one has upgraded; to go back, dump the data "
    "and load it into a new cluster",
    SERVER_ID_OFFSET: "pods roll one at a time, so a new offset would give a rolled pod the server_id of one "
    "not rolled yet, and replication between them stops (error 1593)",
    **dict.fromkeys(
        OPTION_KEYS.values(),
        "the server applies it only when it initialises its data, and refuses to start (or loses sight of "
        "tables) with another value",
    ),
}


def configured(args: MySQLClusterArgs) -> dict[str, str]:
    """The facts this configuration would bind a new cluster's data to, by state ConfigMap key."""
    options = server_config.init_only_options(args.server_config)
    return {
        FLAVOR: args.flavor,
        NEWEST_VERSION: args.resolved_version,
        SERVER_ID_OFFSET: str(args.server_id_offset),
        **{key: options[option] for option, key in OPTION_KEYS.items()},
    }


def pod_environment(facts: Mapping[str, str]) -> str:
    """`CLUSTER_FACTS` for scripts/cluster-facts.sh: `key=value` words (no value holds a space)."""
    return " ".join(f"{key}={facts[key]}" for key in KEYS)


@dataclass(frozen=True)
class Known:
    """What a cluster's data is bound to: the state ConfigMap's record of these facts, else (data initialised
    before they were recorded) what its primary runs with. Empty: no cluster (yet)."""

    recorded: Mapping[str, str]
    running: Mapping[str, str]

    def value(self, key: str) -> tuple[str, str] | None:
        """The known value of `key` and where it was read, or None. A record that holds some facts is the
        whole truth: a key a person removed from it is unknown, whatever the StatefulSet says."""
        if any(fact in self.recorded for fact in KEYS):
            found = self.recorded.get(key)
            return None if found is None else (found, "recorded by its pods")
        if key in self.running:
            return self.running[key], "what its primary runs with"
        return None


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in text.split("."))


def refusals(facts: Mapping[str, str], known: Known) -> list[str]:
    """One line per configured fact that the known facts forbid, each naming the setting, the value given and
    what is allowed (and why)."""
    problems: list[str] = []
    for key in KEYS:
        found = known.value(key)
        if found is None or key not in facts:
            continue
        value, source = found
        given = facts[key]
        if key == NEWEST_VERSION:
            same_flavor = (known.value(FLAVOR) or (facts[FLAVOR], ""))[0] == facts[FLAVOR]
            if not same_flavor or _version(given) >= _version(value):
                continue
            allowed = f"{value} or newer ({facts[FLAVOR]} {value} has run on this data: {source})"
        elif given == value:
            continue
        else:
            allowed = f"{value} ({source})"
        problems.append(f"{setting(key)}: got {given}; allowed: {allowed}; {_WHY[key]}")
    return problems


def setting(key: str) -> str:
    """The stack configuration key that sets a fact."""
    options = {state_key: f"serverConfig.{option}" for option, state_key in OPTION_KEYS.items()}
    return {FLAVOR: "flavor", NEWEST_VERSION: "version", SERVER_ID_OFFSET: "serverIdOffset", **options}[key]


def message(cluster: str, namespace: str, state_config_map: str, problems: list[str]) -> str:
    """The refusal: what is refused, why, and what a person may decide instead."""
    lines = [
        f'cluster "{cluster}" in namespace "{namespace}" holds data bound to settings this deployment would '
        "change; nothing was changed:",
        *(f"  - {problem}" for problem in problems),
        "Set them back (`pulumi config set ...`) and run again.",
    ]
    if any(problem.startswith("version:") for problem in problems):
        lines.append(
            f"If no pod ever started the newer version (its rollout never started a pod), remove the key "
            f"{NEWEST_VERSION} from ConfigMap {state_config_map} (`kubectl -n {namespace} edit configmap "
            f"{state_config_map}`): the next pod to start records its own."
        )
    return "\n".join(lines)
