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
    """``torch.optim.Adam`` whose ``step`` runs the unwrapped method under ``no_grad``, as its wrapper does."""

    def step(self, closure=None):
        with torch.no_grad():
            return torch.optim.Adam.step.__wrapped__(self, closure)


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
