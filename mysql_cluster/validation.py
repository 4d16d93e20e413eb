"""The grammars Kubernetes applies to the values a user gives, checked before anything is declared.

`Problems` collects every problem of a configuration, each naming the key, the value given and what is
allowed, so that the user gets ONE error listing all of them (see `config.ConfigError`). A value set with
`pulumi config set --secret` is never shown: its problem says the key and what is allowed, not the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal

# Every grammar is applied with `fullmatch`: `$` alone also matches before a final newline ("mysql:8.4\n").
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

# Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity): <sign><number><suffix>, the suffix
# binary (Ki..Ei), decimal (m, k, M..E) or a decimal exponent (e3, E-2).
_QUANTITY = re.compile(
    r"^(?P<sign>[+-]?)(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+|m|k|M|G|T|P|E)?$"
)
_BINARY_SUFFIXES = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL_SUFFIXES = {"m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}

# Image references (the distribution/reference grammar): [host[:port]/]path[:tag][@digest].
_ALNUM = r"[a-z0-9]+"
_PATH = rf"{_ALNUM}(?:(?:[._]|__|-+){_ALNUM})*"
_HOST = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IMAGE = re.compile(
    rf"^(?:{_HOST}(?:\.{_HOST})*(?::[0-9]+)?/)?{_PATH}(?:/{_PATH})*"
    r"(?P<tag>:[\w][\w.-]{0,127})?"
    r"(?:@(?P<algorithm>[a-z0-9]+):(?P<hex>[^:]+))?$",
    re.ASCII,  # \w is [A-Za-z0-9_] in the grammar, not every Unicode letter and digit
)
# The digests container runtimes verify (opencontainers/go-digest): lower-case hex of the algorithm's length.
# Any other digest is accepted by the grammar above and then refused by the node: the pod never starts.
DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
MAX_IMAGE_LENGTH = 255
# Quantities with a decimal exponent beyond this are far outside every bound; computing them exactly would
# take unbounded memory (`1e999999999`).
_MAX_EXPONENT = 100


def parse_quantity(text: str) -> Decimal | None:
    """The value of a Kubernetes quantity (`500m`, `1Gi`, `1e3`), or None where Kubernetes rejects it."""
    match = _QUANTITY.fullmatch(text)
    if not match:
        return None
    number = Decimal(match["number"])
    suffix: str = match["suffix"] or ""
    value: Decimal
    if suffix in _BINARY_SUFFIXES:
        value = number * Decimal(1024) ** _BINARY_SUFFIXES[suffix]
    else:
        exponent = _DECIMAL_SUFFIXES[suffix] if suffix in _DECIMAL_SUFFIXES else int(suffix[1:])
        if abs(exponent) > _MAX_EXPONENT:
            value = Decimal(0) if exponent < 0 or number == 0 else Decimal("Infinity")
        else:
            value = number.scaleb(exponent)
    negative: bool = match["sign"] == "-"
    return -value if negative else value


def is_dns1123_label(text: str) -> bool:
    """A namespace or Service-like name: lower-case alphanumerics and '-', at most 63 characters."""
    return len(text) <= 63 and bool(_DNS1123_LABEL.fullmatch(text))


def is_dns1123_subdomain(text: str) -> bool:
    """A Secret, StorageClass or domain name: dot-separated DNS-1123 labels, at most 253 characters."""
    return 0 < len(text) <= 253 and all(is_dns1123_label(part) for part in text.split("."))


def has_unit(text: str) -> bool:
    """Whether a quantity carries a unit suffix (`Gi`, `M`, `k`...); `1024` and `1e9` are bare numbers."""
    match = _QUANTITY.fullmatch(text)
    suffix: str = match["suffix"] if match and match["suffix"] else ""
    return bool(suffix) and not re.fullmatch(r"[eE][+-]?[0-9]+", suffix)


def is_pinned_image(text: str) -> bool:
    """A valid image reference pinned by a digest, or by a tag other than `latest`.

    `mysql:latest@sha256:...` is pinned: the runtime pulls by digest and ignores the tag.
    """
    match = _IMAGE.fullmatch(text) if len(text) <= MAX_IMAGE_LENGTH else None
    if match is None:
        return False
    if match["algorithm"] is not None:
        length = DIGEST_HEX_LENGTHS.get(match["algorithm"])
        return length is not None and re.fullmatch(f"[0-9a-f]{{{length}}}", match["hex"]) is not None
    tag: str | None = match["tag"]
    return tag is not None and tag.lower() != ":latest"


def is_int(value: object) -> bool:
    """An int that is not a bool (`True` is an int to Python, not to a user)."""
    return isinstance(value, int) and not isinstance(value, bool)


# Stack configuration keys (`replicas`, `resources`) whose values were set with `--secret`, while a
# configuration read from the stack is validated (see `secret_values`).
_SECRET_KEYS: ContextVar[frozenset[str]] = ContextVar("mysql_cluster_secret_keys", default=frozenset())
MAX_SHOWN_LENGTH = 80  # a value longer than this is shown shortened


@contextmanager
def secret_values(keys: Iterable[str]) -> Iterator[None]:
    """Within this block, every `Problems` hides the values of these keys (and of everything under them)."""
    token = _SECRET_KEYS.set(frozenset(keys))
    try:
        yield
    finally:
        _SECRET_KEYS.reset(token)


def shown(value: object) -> str:
    """The value as an error shows it: its repr, shortened when long."""
    try:
        text = repr(value)
    except ValueError:  # an int of more than 4300 digits has no repr
        return "an integer too long to show"
    if len(text) <= MAX_SHOWN_LENGTH:
        return text
    return f"{text[: MAX_SHOWN_LENGTH - 20]}... ({len(text)} characters)"


class Problems:
    """Collects problems; each check returns whether the value passed."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.secret_keys = _SECRET_KEYS.get()

    def __bool__(self) -> bool:
        return bool(self.items)

    def is_secret(self, key: str) -> bool:
        """Whether `key` (`resources.server.requests.cpu` belongs to `resources`) was set as a secret."""
        return key.split(".", 1)[0] in self.secret_keys

    def show(self, key: str, value: object) -> str:
        """How an error may mention the value of `key`: never when it is secret."""
        return "a value set as a secret (not shown)" if self.is_secret(key) else shown(value)

    def add(self, key: str, value: object, allowed: str) -> bool:
        self.items.append(f"{key}: got {self.show(key, value)}; allowed: {allowed}")
        return False

    def choice(self, key: str, value: object, choices: tuple[str, ...]) -> bool:
        return value in choices or self.add(key, value, " | ".join(choices))

    def boolean(self, key: str, value: object) -> bool:
        return isinstance(value, bool) or self.add(key, value, "true | false")

    def name(self, key: str, value: object, check: Callable[[str], bool], what: str) -> bool:
        return (isinstance(value, str) and check(value)) or self.add(key, value, what)

    def image(self, key: str, value: object) -> bool:
        if isinstance(value, str) and is_pinned_image(value):
            return True
        # A database must not change version because a pod was rescheduled and `latest` moved.
        return self.add(
            key,
            value,
            "an image reference with an explicit tag other than 'latest', or a digest "
            "(@sha256: and 64 lower-case hex digits)",
        )
