"""Large tensors straight from the kernel, so that a worker's memory falls back after each evaluation chunk.

glibc raises its mmap threshold to the size of each large block freed (up to 32 MB), so that later blocks of that size
come from the heap; torch's CPU allocator frees and allocates chunk-sized blocks all the time (evaluation chunks, batch
activations), and the heap then holds and fragments them: a 2x2048-unit job peaked at 746 MB with the dynamic
threshold and 198 MB with a fixed one. A fixed threshold of 4 MB maps every larger block and unmaps it when freed (the
page faults cost ~1 ms a 16 MB block, far below the compute that fills it); smaller blocks, the whole of a small net's
working set, stay on the heap, whose top is kept up to 32 MB. Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_TRIM_THRESHOLD = -1  # mallopt's parameter numbers in glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 4 << 20
TRIM_THRESHOLD = 32 << 20  # a fixed mmap threshold also fixes this one, at 128 KB: the heap top would shrink and regrow every step


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
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
