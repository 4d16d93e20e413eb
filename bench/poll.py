"""A poller that runs in a background thread for the length of a `with` block."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Self


@dataclass
class BackgroundPoll:
    """Runs `_poll` in a daemon thread from `__enter__` (when `_active()`) until `__exit__` sets `_stop`,
    which `_poll` checks between rounds."""

    _stop: threading.Event = field(default_factory=threading.Event, kw_only=True)
    _thread: threading.Thread | None = field(default=None, kw_only=True)

    def _active(self) -> bool:
        return True

    def _poll(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        if self._active():
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
