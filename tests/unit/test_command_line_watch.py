"""tests/support/pods.py's CommandLineWatch (issue 17, defect 8): the script tier's proof that no password
reaches a command line. It must keep looking when a process exits while it reads the process table, and a
watch whose thread died must fail the test that relies on it, never let it pass having looked at nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.support.command_line_watch import CommandLineWatch
from tests.support.pods import wait_until

pytestmark = pytest.mark.unit

MARKER = "watch-marker-5b0d7e"


class VanishedEntry:
    """A /proc entry whose process exited after the directory was listed: every look at it fails."""

    def __init__(self, pid: int) -> None:
        self.name = str(pid)
        self.path = f"/proc/{pid}"

    def is_dir(self, *, follow_symlinks: bool = True) -> bool:
        raise ProcessLookupError(3, "No such process")

    def is_file(self, *, follow_symlinks: bool = True) -> bool:
        raise ProcessLookupError(3, "No such process")

    def is_symlink(self) -> bool:
        raise ProcessLookupError(3, "No such process")

    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        raise ProcessLookupError(3, "No such process")


class Listing:
    """`os.scandir`'s iterator over a list of entries."""

    def __init__(self, entries: list[Any]) -> None:
        self.entries = entries

    def __enter__(self) -> Iterator[Any]:
        return iter(self.entries)

    def __exit__(self, *exc: object) -> None:
        return None

    def __iter__(self) -> Iterator[Any]:
        return iter(self.entries)

    def close(self) -> None:
        return None


@contextmanager
def process_with_marker() -> Iterator[subprocess.Popen[bytes]]:
    """A process holding MARKER on its command line for as long as the block runs."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", MARKER])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_the_watch_keeps_looking_when_processes_vanish_while_it_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        if os.fspath(path) != "/proc":
            return real_scandir(path)
        with real_scandir(path) as entries:
            listed = list(entries)
        return Listing([VanishedEntry(4_000_000 + i) for i in range(3)] + listed)

    monkeypatch.setattr(os, "scandir", scandir)
    with process_with_marker(), CommandLineWatch((MARKER,), interval=0.01) as watch:
        wait_until(lambda: watch.leaks or None, timeout=10, what="the watch to see the marker")
        time.sleep(0.1)  # several more rounds over the vanished entries
    assert any(MARKER in leak for leak in watch.leaks)


def test_a_watch_whose_thread_died_fails_the_test_that_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        if os.fspath(path) == "/proc":
            raise RuntimeError("the watch's thread crashed")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    watch = CommandLineWatch((MARKER,), interval=0.01)
    with pytest.raises(AssertionError, match="stopped looking") as died, watch:  # noqa: PT012
        time.sleep(0.2)
        assert watch.leaks == []  # what a test asserts: it must not pass
    assert "the watch's thread crashed" in str(died.value.__cause__)


def test_leaving_the_block_of_a_dead_watch_fails_too(monkeypatch: pytest.MonkeyPatch) -> None:
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        if os.fspath(path) == "/proc":
            raise FileNotFoundError(2, "No such file or directory", "/proc")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    watch = CommandLineWatch((MARKER,), interval=0.01)
    with pytest.raises(AssertionError, match="stopped looking"), watch:
        time.sleep(0.2)
