"""Random weights that depend only on a seed and the parameter names and shapes.

The segmenter fixtures were made by filling the official networks with these weights; the
tests fill ours the same way and must get the same outputs (tests/fixtures/README.md).
"""
import numpy as np
import torch


def seeded_state_dict(shapes: dict, seed: int) -> dict:
    """A state_dict with the given keys and shapes, drawn in sorted-key order from one seeded generator.

    Convolution and linear weights get a variance of 1 / fan-in; batch-norm statistics stay
    near the identity, so that deep networks neither explode nor vanish.

    Args:
        shapes (dict): key → shape (list of ints).
        seed (int): the generator's seed.
    """
    generator = np.random.default_rng(seed)
    state = {}
    for key in sorted(shapes):
        shape = list(shapes[key])
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(0)
            continue
        noise = torch.from_numpy(generator.standard_normal(shape, dtype=np.float32))
        if key.endswith("running_var"):
            value = 1 + 0.1 * noise.abs()
        elif key.endswith("running_mean") or key.endswith("bias"):
            value = 0.1 * noise
        elif len(shape) == 1:  # a norm layer's scale
            value = 1 + 0.1 * noise
        else:
            value = noise / max(1, noise[0].numel()) ** 0.5
        state[key] = value
    return state


def seeded_input(shape, seed: int) -> torch.Tensor:
    """A float input batch in about [-2, 2], drawn from its own seeded generator."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)).clamp(-2, 2)
