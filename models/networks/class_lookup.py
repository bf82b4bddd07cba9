"""A per-pixel lookup of per-class rows (``F.embedding``) whose gradient is one ``index_add_``.

CLADE's scale and shift, and SPADE's inside-region modulation, read one row of a small table
[classes, channels] at every pixel. torch's CPU gradient of ``F.embedding`` adds the pixels' rows
into the table one at a time through a general element-wise kernel, 3–5 times slower than
``index_add_``, which adds the same rows in the same order: the same sums, bit for bit. GPUs keep
torch's own gradient (sorted and deterministic, where ``index_add_`` there adds atomically).
"""
import torch
import torch.nn.functional as F


class _ClassLookup(torch.autograd.Function):
    @staticmethod
    def forward(ctx, classes, table):
        ctx.save_for_backward(classes)
        ctx.table_shape = table.shape
        return F.embedding(classes, table)

    @staticmethod
    def backward(ctx, grad):
        (classes,) = ctx.saved_tensors
        rows = grad.reshape(-1, grad.shape[-1])
        grad_table = rows.new_zeros(ctx.table_shape).index_add_(0, classes.reshape(-1), rows)
        return None, grad_table


def class_lookup(classes: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """``table[classes]``: [*classes.shape, channels] for ``classes`` (long) and ``table`` [classes, channels]."""
    if table.device.type != "cpu":
        return F.embedding(classes, table)
    return _ClassLookup.apply(classes, table)
