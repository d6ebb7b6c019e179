"""An epoch's batches, as index ranges of the shuffled training set: the trainer slices them, the check counts them."""

from __future__ import annotations


def batch_size_for(n: int, batch_size: int | str) -> int:
    """The samples of a full batch: 'full' and batches larger than the training set are the whole set."""
    return n if batch_size == "full" else min(int(batch_size), n)


def batch_bounds(n: int, batch_size: int | str, merge_single: bool) -> list[tuple[int, int]]:
    """[start, stop) of each batch of an epoch of n samples.

    merge_single: the model normalises over the batch with one value a channel per sample (batchnorm after a dense
    layer, or on a 1x1 map), which a batch of one cannot do in training mode: a trailing single sample joins the batch
    before it.
    """
    size = batch_size_for(n, batch_size)
    bounds = [(s, min(s + size, n)) for s in range(0, n, size)]
    if merge_single and len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


def smallest_batch(n: int, batch_size: int | str, merge_single: bool) -> int:
    """The fewest samples any batch of batch_bounds(n, batch_size, merge_single) holds, without listing them."""
    size = batch_size_for(n, batch_size)
    count = -(-n // size)
    last = n - (count - 1) * size
    if merge_single and count > 1 and last == 1:
        return size
    return min(size, last)
