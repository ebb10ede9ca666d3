"""What the process pool's fork server loads before it forks workers (see
:func:`smegrowth.executors.start_worker_server`); not for other use.

Importing this module imports the model and the sweep's run function
(:func:`smegrowth.store.run_encoded`) and makes one tiny run, which loads the model's compiled
loops from numba's disk cache (~0.3 s). Done once in the server, every worker forked from it
starts with them loaded, instead of loading them at its first run.

The garbage collector is off while it does so (Python's advice for a process that forks workers):
everything made here lives as long as the server, and the full collections that the imports and
numba's start would set off cost ~0.15 s on the way to every sweep's first run. At the end the
objects are frozen and the collector turned on again, for the workers too.
"""

from __future__ import annotations

import signal

# Ctrl-C is the sweep process's to handle (it stops the workers itself): the fork server ignores it
# from here on, before the imports below, where a KeyboardInterrupt would print a traceback of the
# import it landed in. The server starts with SIGINT unblocked whatever its parent's mask; once it
# serves, it ignores SIGINT itself, and so do the workers it forks (``executors._worker_init``).
signal.signal(signal.SIGINT, signal.SIG_IGN)

from .memory import importing_the_model  # noqa: E402 - after the line above, on purpose

WARM_UP_SCALE = 0.002
"""Share of the national population in the warm-up run (a few hundred firms)."""
WARM_UP_QUARTERS = 2


def warm_up() -> None:
    """Make one tiny run and take it apart, so that the compiled loops are loaded here.

    A model that raises here is left to raise in the workers' runs, where it is recorded as the
    runs' failure: the warm-up only saves time.
    """
    try:
        model = EnterpriseModel(scale=WARM_UP_SCALE, rng=0)
        model.run(WARM_UP_QUARTERS)
        model.release()
    except Exception:  # noqa: BLE001, S110 - see the docstring
        pass


# Workers are forked from here: with the objects made so far frozen, the garbage collector neither
# walks them in every full collection nor writes to their pages, which would copy them into every
# worker. The warm-up model's few hundred kB of garbage (it is a reference cycle) stay with them:
# collecting them would take a full collection, ~90 ms.
with importing_the_model():
    from . import store  # noqa: F401 - imported for the workers, which call store.run_encoded
    from .model import EnterpriseModel

    warm_up()
