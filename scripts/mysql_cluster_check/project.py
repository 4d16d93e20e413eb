"""The two project modules the tool reads: `mysql_cluster.flavors` (status statements and column names) and
`mysql_cluster.names` (object and host names).

They are loaded from their own files, without running `mysql_cluster/__init__.py`, which imports the Pulumi
SDK for the component: the check needs neither Pulumi's Python packages nor their start-up time (a third of
a second per run). Both import only the standard library (`flavors` is a package whose modules import only
each other).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING


def _load(module: str) -> ModuleType:
    qualified = f"mysql_cluster.{module}"
    if qualified in sys.modules:
        return sys.modules[qualified]
    package = importlib.util.find_spec("mysql_cluster")  # finds the package without importing it
    if package is None or not package.submodule_search_locations:
        raise ImportError("mysql_cluster not found: run from the repository or install it")
    base = Path(next(iter(package.submodule_search_locations)))
    if (base / module / "__init__.py").is_file():  # a package (flavors): its submodules load through it
        path = base / module / "__init__.py"
        spec = importlib.util.spec_from_file_location(
            qualified, path, submodule_search_locations=[str(base / module)]
        )
    else:
        path = base / f"{module}.py"
        spec = importlib.util.spec_from_file_location(qualified, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = loaded  # dataclasses resolve their module through sys.modules
    spec.loader.exec_module(loaded)
    return loaded


if TYPE_CHECKING:
    from mysql_cluster import flavors, names
else:
    flavors = _load("flavors")
    names = _load("names")

__all__ = ["flavors", "names"]
