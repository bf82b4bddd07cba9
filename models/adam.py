"""Adam exactly as ``torch.optim.Adam(fused=True)`` computes it, without loading PyTorch's compiler.

``torch.optim`` wraps ``Optimizer.add_param_group``, ``zero_grad``, ``state_dict``,
``load_state_dict`` and ``Adam.step`` so that ``torch.compile`` leaves them alone, and these
wrappers import ``torch._dynamo`` on first use: about 1.7 s, as long as importing torch itself,
paid by every training launch. A run that compiles nothing needs none of it, so without
``--compile`` the optimizer takes the wrapped functions directly. The update is the same
fused kernel with the same state; only the import is skipped.
"""
import torch

GUARDED_METHODS = ("add_param_group", "zero_grad", "state_dict", "load_state_dict")


class _UncompiledAdam(torch.optim.Adam):
    """``torch.optim.Adam`` whose ``step`` runs the unwrapped method under ``no_grad``, as its wrapper does,
    and hands the fused kernel channels-last tensors as the dense arrays they are in memory."""

    def step(self, closure=None):
        with torch.no_grad():
            return torch.optim.Adam.step.__wrapped__(self, closure)

    def _init_group(self, group, params, grads, *per_parameter):
        """Gather the group's tensors as torch does, then give each channels-last parameter, its gradient and
        its state as [out, kh, kw, in] views, which are contiguous: the fused kernel would otherwise copy
        each such tensor to the [out, in, kh, kw] order and back on every step (a fifth of its time for
        the 1024-channel weights). The update is elementwise, so it is the same in any order."""
        has_complex = super()._init_group(group, params, grads, *per_parameter)
        for index, param in enumerate(params):
            if param.dim() == 4 and not param.is_contiguous() and param.is_contiguous(
                    memory_format=torch.channels_last):
                for tensors in (params, grads, *per_parameter):
                    if len(tensors) == len(params) and tensors[index].dim() == 4:
                        tensors[index] = tensors[index].permute(0, 2, 3, 1)
        return has_complex


def fused_adam(params, lr: float, betas: tuple[float, float], compiling: bool) -> torch.optim.Adam:
    """Adam with one fused kernel for all tensors (the same update as the per-tensor loop, to float rounding).

    Args:
        params: the parameters to optimize.
        lr, betas: Adam's learning rate and (beta1, beta2).
        compiling: ``--compile`` is on: use torch's optimizer unchanged, since the compiler loads anyway.
    """
    if compiling or not hasattr(torch.optim.Adam.step, "__wrapped__"):
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    for name in GUARDED_METHODS:
        unwrapped = getattr(getattr(torch.optim.Optimizer, name), "__wrapped__", None)
        if unwrapped is not None:
            # the wrapper's cache of the "compiler-disabled" function: the function itself
            unwrapped.__dynamo_disable = unwrapped
    return _UncompiledAdam(params, lr=lr, betas=betas, fused=True)
