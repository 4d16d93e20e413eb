"""CommandLineWatch: the script tier's proof that no secret reaches a process's command line (tests/support/
pods.py re-exports it). A watch that stopped looking must never let a test pass (issue 17, defect 8)."""

from __future__ import annotations

import os
import threading
from pathlib import Path


class CommandLineWatch:
    """Samples every process's command line (/proc/*/cmdline) in a thread, as a context manager.

    `leaks` lists the command lines that held one of `secrets`; `seen` the program and script names it
    observed, so a test can prove the watch was looking while the interesting processes ran. A process that
    exits while the watch reads it is passed over; anything else that stops the thread fails the test that
    relies on it: reading `leaks` or `seen`, or leaving the `with` block, then raises an AssertionError.
    """

    def __init__(self, secrets: tuple[str, ...], interval: float = 0.02) -> None:
        self.secrets = tuple(secret.encode() for secret in secrets)
        self.interval = interval
        self._leaks: list[str] = []
        self._seen: set[str] = set()
        self._died: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="command-line-watch", daemon=True)

    @property
    def leaks(self) -> list[str]:
        self._check()
        return self._leaks

    @property
    def seen(self) -> set[str]:
        self._check()
        return self._seen

    def _check(self) -> None:
        if self._died is not None:
            raise AssertionError(f"the command-line watch stopped looking: {self._died!r}") from self._died

    def __enter__(self) -> CommandLineWatch:
        self._thread.start()
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, traceback: object) -> None:
        self._stop.set()
        self._thread.join(10)
        if self._thread.is_alive() and self._died is None:
            self._died = TimeoutError("its thread did not stop within 10 s")
        if exc is None:
            self._check()
        elif self._died is not None:
            exc.add_note(f"(the command-line watch had stopped looking: {self._died!r})")

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._sample()
                self._stop.wait(self.interval)
        except BaseException as error:  # reported to the test by _check
            self._died = error

    def _sample(self) -> None:
        with os.scandir("/proc") as entries:
            pids = [entry.name for entry in entries if entry.name.isdigit()]
        for pid in pids:
            try:
                raw = Path("/proc", pid, "cmdline").read_bytes()
            except OSError:  # the process exited meanwhile (FileNotFoundError, ProcessLookupError...)
                continue
            if not raw:
                continue
            args = [arg.decode(errors="replace") for arg in raw.split(b"\0")]
            self._seen.add(Path(args[0]).name)
            self._seen.update(Path(arg).name for arg in args[1:6] if arg.endswith(".sh"))
            if any(secret in raw for secret in self.secrets):
                self._leaks.append(" ".join(args))
