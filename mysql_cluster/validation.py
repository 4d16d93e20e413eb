"""The grammars Kubernetes applies to the values a user gives, checked before anything is declared.

`Problems` collects every problem of a configuration, each naming the key, the value given and what is
allowed, so that the user gets ONE error listing all of them (see `config.ConfigError`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

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
    r"(?P<digest>@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)
MAX_IMAGE_LENGTH = 255


def parse_quantity(text: str) -> Decimal | None:
    """The value of a Kubernetes quantity (`500m`, `1Gi`, `1e3`), or None where Kubernetes rejects it."""
    match = _QUANTITY.match(text)
    if not match:
        return None
    number = Decimal(match["number"])
    suffix: str = match["suffix"] or ""
    value: Decimal
    if suffix in _BINARY_SUFFIXES:
        value = number * Decimal(1024) ** _BINARY_SUFFIXES[suffix]
    elif suffix in _DECIMAL_SUFFIXES:
        value = number.scaleb(_DECIMAL_SUFFIXES[suffix])
    else:
        value = number.scaleb(int(suffix[1:]))
    negative: bool = match["sign"] == "-"
    return -value if negative else value


def is_dns1123_label(text: str) -> bool:
    """A namespace or Service-like name: lower-case alphanumerics and '-', at most 63 characters."""
    return len(text) <= 63 and bool(_DNS1123_LABEL.match(text))


def is_dns1123_subdomain(text: str) -> bool:
    """A Secret, StorageClass or domain name: dot-separated DNS-1123 labels, at most 253 characters."""
    return 0 < len(text) <= 253 and all(is_dns1123_label(part) for part in text.split("."))


def is_pinned_image(text: str) -> bool:
    """A valid image reference with a tag other than `latest`, or a digest."""
    match = _IMAGE.match(text) if len(text) <= MAX_IMAGE_LENGTH else None
    if match is None:
        return False
    tag, digest = match["tag"], match["digest"]
    return bool(tag or digest) and tag != ":latest"


def is_int(value: object) -> bool:
    """An int that is not a bool (`True` is an int to Python, not to a user)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _in_range(value: object, minimum: int, maximum: int | None) -> bool:
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    return minimum <= value and (maximum is None or value <= maximum)


class Problems:
    """Collects problems; each check returns whether the value passed."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(self, key: str, value: object, allowed: str) -> bool:
        self.items.append(f"{key}: got {value!r}; allowed: {allowed}")
        return False

    def integer(self, key: str, value: object, minimum: int, maximum: int | None = None) -> bool:
        if _in_range(value, minimum, maximum):
            return True
        return self.add(
            key, value, f"an integer >= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
        )

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
            key, value, "an image reference with an explicit tag other than 'latest', or a digest"
        )

    def quantity(self, key: str, value: object, *, whole_bytes: bool, positive: bool) -> Decimal | None:
        """The quantity's value when it is valid, else None (and a problem)."""
        quantity = parse_quantity(value) if isinstance(value, str) else None
        if quantity is None or quantity < 0 or (positive and quantity == 0):
            sign = "a positive" if positive else "a non-negative"
            examples = "10Gi, 512Mi or 1G" if whole_bytes else "500m, 0.5 or 2"
            self.add(key, value, f"{sign} Kubernetes quantity such as {examples}")
            return None
        if whole_bytes and quantity != quantity.to_integral_value():
            # Kubernetes accepts it, but `512m` of memory is half a byte: always a typo for 512Mi.
            self.add(key, value, "a whole number of bytes (Mi or Gi, not m)")
            return None
        return quantity
