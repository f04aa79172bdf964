"""Records which SDK methods the tests really called, so the runner can report a count per SDK."""

from __future__ import annotations

import os
from typing import Any

#: Every `resource.method` called through a `Recorded` wrapper in this session.
CALLED: set[str] = set()


def note(name: str) -> None:
    """Marks `name` as exercised, in memory and in `$CONFORMANCE_METHODS_FILE` when set."""
    if name in CALLED:
        return
    CALLED.add(name)
    out = os.environ.get("CONFORMANCE_METHODS_FILE")
    if out:
        with open(out, "a") as f:
            f.write(f"python {name}\n")


class Recorded:
    """Wraps an SDK sub-client; each method call is noted under `prefix.method` before it runs."""

    def __init__(self, target: Any, prefix: str):
        self._target = target
        self._prefix = prefix

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._target, attr)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            note(f"{self._prefix}.{attr}")
            return value(*args, **kwargs)

        return call
