"""Seeds for replicates and designs, all derived from a scenario's one root ``seed``.

Replicate ``r`` of a sweep runs with the ``r``-th child of ``numpy.random.SeedSequence(seed)``, the
same for every policy and every sample point (common random numbers): a policy and the baseline then
face the same draws of firm births, shocks and innovation, so their difference is a paired
comparison with far less noise than two independent runs. Children are prefix-stable: asking for
more replicates keeps the seeds of the existing ones.

The sampler of a Latin hypercube or Sobol design gets its own stream, derived from the root seed on
a spawn key that replicates never reach, so changing the design does not change replicate seeds.
"""

from __future__ import annotations

import numpy as np

DESIGN_STREAM = 2**32 - 1
"""Spawn key of the design sampler's stream (replicate children use keys 0, 1, 2, ...)."""


def replicate_seeds(root: int, replicates: int) -> list[int]:
    """The seed of each replicate: one 32-bit word of each child of ``SeedSequence(root)``."""
    if replicates < 0:
        raise ValueError(f"replicates must be >= 0, got {replicates}")
    children = np.random.SeedSequence(root).spawn(replicates)
    return [int(child.generate_state(1)[0]) for child in children]


def design_seed(root: int) -> int:
    """The seed of the design sampler (Latin hypercube, Sobol), independent of replicate seeds."""
    sequence = np.random.SeedSequence(root, spawn_key=(DESIGN_STREAM,))
    return int(sequence.generate_state(1)[0])
