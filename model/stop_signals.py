"""Stop signals that are not lost: Ctrl-C (SIGINT) and a scheduler's SIGTERM during a sweep.

Python runs a signal's handler in the main thread at the next instruction it executes, whatever that
is. When that is a finalizer (``__del__``, a weak reference's callback; garbage collection runs many
between runs), the exception the handler raises, ``KeyboardInterrupt`` for Ctrl-C, is printed as
"Exception ignored" and dropped, and the sweep would go on as if nothing happened. :func:`kept_stops`
records what the handlers raise, so that the sweep can raise it again after the run it stopped in.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))


@contextlib.contextmanager
def kept_stops() -> Iterator[list[BaseException]]:
    """While inside, the exceptions raised by the Python-level handlers of SIGINT and SIGTERM (Python's
    Ctrl-C handler, or one the caller installed) are also appended to the list this yields. Handlers
    that are not Python functions (ignored, the system default) are left alone; so is everything outside
    the main thread, where signal handlers cannot be set."""
    raised: list[BaseException] = []
    if threading.current_thread() is not threading.main_thread():
        yield raised
        return

    def keeping(handler: Callable[[int, Any], Any]) -> Callable[[int, Any], Any]:
        def kept(signum: int, frame: Any) -> Any:
            try:
                return handler(signum, frame)
            except BaseException as exc:
                raised.append(exc)
                raise

        return kept

    previous: dict[int, Any] = {}
    for sig in STOP_SIGNALS:
        handler = signal.getsignal(sig)
        if callable(handler):
            previous[sig] = signal.signal(sig, keeping(handler))
    try:
        yield raised
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
