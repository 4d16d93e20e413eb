"""`serverConfig`: the user's server options, validated and rendered as the ConfigMap's `custom.cnf`.

`init-config.sh` appends `custom.cnf` after the flavor's files and before the pod's identity, so user options
tune the server (buffer pool, connections, binary log expiry) but cannot move what the cluster manages itself:
identity, paths, GTID replication and what replicas apply, read-only, plugins and authentication. Those are
refused (server_options.py: however the servers would read the name), each with the reason, before any
resource is declared. A change renders a new `custom.cnf`, so a new content-addressed ConfigMap, so a rolling
restart of every pod (replicas first, the primary last).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mysql_cluster import server_options
from mysql_cluster.server_options import Refusal
from mysql_cluster.validation import Problems

KEY = "serverConfig"

# Options of the plugins the server loads with plugin_load_add (MySQL's CLONE plugin: clone_max_data_bandwidth
# and the like). `mysqld --initialize` loads no plugin and refuses an option it does not know, and every pod's
# my.cnf is read by an initialisation (the first primary's, each CLONE recipient's private server), so these
# are written with `loose_`: the initialisation passes over them, the servers that load the plugin apply them
# (and MariaDB, which has no CLONE plugin, ignores them with a warning).
_PLUGIN_OPTIONS = ("clone_",)
_NAME = re.compile(r"[A-Za-z](?:[A-Za-z0-9_-]{0,62}[A-Za-z0-9])?")
# A value is written as given, so it must be read back as given (see `_reads_back`).
_VALUES = (
    "a number, true/false, or one line of printable ASCII text (1 to 1024 characters, no space at either "
    "end) without '#' (a comment to the option file), '\\' (an escape) or a leading quote (removed)"
)

ServerOptions = Mapping[str, str | int | bool]

# Options a server applies only when it initialises its data: started later with another value, it refuses
# to start (innodb_page_size; lower_case_table_names on MySQL) or no longer finds tables
# (lower_case_table_names on MariaDB). By canonical name: what is allowed, and the default (as the state
# ConfigMap records it).
INIT_ONLY: Mapping[str, tuple[str, str]] = {
    "lower_case_table_names": ("0 | 1 | 2", "0"),
    "innodb_page_size": ("4k | 8k | 16k | 32k | 64k, or the same in bytes (4096 ... 65536)", "16384"),
}
_PAGE_SIZES = (4096, 8192, 16384, 32768, 65536)


def _reads_back(value: str) -> bool:
    """Whether the option file gives the server `value` as written: one line (option files have no escape
    for a line break) of printable ASCII (the server trims, in latin1, what it takes for spaces at either
    end), without `#` (the rest of the line is a comment, wherever it starts), `\\` (an escape: `\\n`,
    `\\s`...) or a leading quote (a value between matching quotes loses them)."""
    return (
        re.fullmatch(r"[ -~]{1,1024}", value) is not None
        and value == value.strip()
        and not any(char in value for char in "#\\")
        and value[0] not in "'\""
    )


def canonical(option: str) -> str:
    """The name the server knows the option by once it strips every prefix: lower case, `_` for `-`."""
    return server_options.resolved(option)


def rendered_name(option: str) -> str:
    """The option's name in custom.cnf: as written, lower case with `_`, `loose_` before a plugin's."""
    name = server_options.normalized(option)
    if canonical(name).startswith(_PLUGIN_OPTIONS) and not name.startswith("loose_"):
        return f"loose_{name}"
    return name


def _refused(option: str, found: Refusal) -> str:
    """What a refused option may be instead, and why this one is not."""
    allowed = "no option the cluster manages or forbids"
    named = found.reading if found.option == found.reading else f"{found.reading}, one of {found.option}"
    if found.abbreviation:
        return (
            f"{allowed}, written in full: MariaDB reads a unique prefix of a name as that option, and "
            f"{found.reading!r} begins {found.option} ({found.reason})"
        )
    if found.reading != server_options.normalized(option):
        prefixes = ", ".join(f"{prefix}_" for prefix in server_options.PREFIXES)
        return f"{allowed}: the servers read it as {named} ({found.reason}; they strip {prefixes}, repeated)"
    return f"{allowed} ({named}: {found.reason})"


def validate(problems: Problems, options: object) -> None:
    """Adds a problem per bad option: not a name, a value the option file would not read back as given,
    or an option the cluster manages or forbids (with the reason)."""
    if not isinstance(options, Mapping):
        problems.add(KEY, options, "an object of server options, such as {max_connections: 500}")
        return
    for option, value in options.items():
        key = f"{KEY}.{option}"
        if not isinstance(option, str) or not _NAME.fullmatch(option):
            what = "an option name: letters, digits, '_' and '-', at most 64, ending in a letter or digit"
            problems.add(key, option, what)
            continue
        found = server_options.refusal(option)
        if found is not None:
            problems.add(key, value, _refused(option, found))
            continue
        if (abbreviated := _abbreviates_init_only(option)) is not None:
            problems.add(
                key,
                value,
                f"{abbreviated} written in full (MariaDB reads a unique prefix of a name as that option)",
            )
            continue
        if canonical(option) in INIT_ONLY:
            if init_only_value(canonical(option), value) is None:
                problems.add(key, value, INIT_ONLY[canonical(option)][0])
            continue
        if isinstance(value, bool) or (isinstance(value, int) and not isinstance(value, bool)):
            continue
        if not isinstance(value, str) or not _reads_back(value):
            problems.add(key, value, _VALUES)


def _abbreviates_init_only(option: str) -> str | None:
    """The initialisation-only option that a reading of `option` is a strict prefix of, if any: written so,
    it would escape the check of the settings the data is bound to (cluster_facts.py)."""
    for reading in server_options.readings(option):
        if reading in server_options.FULL_NAMES:
            continue
        for name in INIT_ONLY:
            if name != reading and name.startswith(reading):
                return name
    return None


def init_only_value(option: str, value: object) -> str | None:
    """The normal form of a value of an initialisation-only option (`16k` -> `16384`); None when the server
    would refuse it."""
    if isinstance(value, bool):
        return None
    text = str(value).strip()
    if option == "lower_case_table_names":
        return text if text in ("0", "1", "2") else None
    match = re.fullmatch(r"([0-9]{1,6})([kK]?)", text)
    if match is None:
        return None
    size = int(match[1]) * (1024 if match[2] else 1)
    return str(size) if size in _PAGE_SIZES else None


def init_only_options(options: ServerOptions) -> dict[str, str]:
    """Each initialisation-only option's value in normal form (its default when not set): the last spelling
    of it that `render` writes, which is the one the server applies."""
    values = {option: default for option, (_allowed, default) in INIT_ONLY.items()}
    for option in sorted(options, key=canonical):
        name = canonical(option)
        if name in INIT_ONLY:
            values[name] = init_only_value(name, options[option]) or str(options[option])
    return values


def render(options: ServerOptions) -> str | None:
    """The `custom.cnf` of these (validated) options, in a stable order; None when there are none."""
    if not options:
        return None
    lines = [
        "# Rendered by mysql_cluster/server_config.py from the stack's serverConfig; init-config.sh",
        "# appends it after the flavor's files and before the pod's identity.",
        "[mysqld]",
    ]
    for option in sorted(options, key=canonical):
        value = options[option]
        text = ("ON" if value else "OFF") if isinstance(value, bool) else str(value)
        lines.append(f"{rendered_name(option)} = {text}")
    return "\n".join(lines) + "\n"
