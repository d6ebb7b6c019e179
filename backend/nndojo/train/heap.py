"""Large tensors straight from the kernel, so that a worker's memory falls back after each evaluation chunk.

glibc raises its mmap threshold to the size of each large block freed (up to 32 MB), so that later blocks of that size
come from the heap; torch's CPU allocator frees and allocates chunk-sized blocks all the time (evaluation chunks, batch
activations), and the heap then holds and fragments them: a 2x2048-unit job peaked at 746 MB with the dynamic
threshold and 198 MB with a fixed one. A fixed threshold of 1 MB maps every larger block and unmaps it when freed; the
page faults cost ~1 ms a 16 MB block, far below the compute that fills it. Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_MMAP_THRESHOLD = -3  # mallopt's parameter number in glibc's malloc.h
MMAP_THRESHOLD = 1 << 20


@functools.cache
def map_large_blocks() -> bool:
    """Fixes glibc's mmap threshold for this process (once); False where there is no glibc mallopt."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
