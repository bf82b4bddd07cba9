"""Kernel Inception Distance: torch-fidelity's estimator on the Inception features our FID uses.

torch-fidelity is the reference implementation of KID (the unbiased MMD² with the cubic
polynomial kernel of Bińkowski et al., averaged over random subsets); we hand it the 2048-d
pool features of pytorch-fid's Inception, so FID and KID come from one feature pass.
"""
import numpy as np
import torch
from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric

from util.errors import UserError

DEFAULT_SUBSETS = 100
DEFAULT_SUBSET_SIZE = 1000  # the size the KID paper and torch-fidelity use; smaller sets use all their images
SEED = 2020  # torch-fidelity's default seed, so the subsets are those its own command would draw


def kernel_inception_distance(features_a: np.ndarray, features_b: np.ndarray, subsets: int = DEFAULT_SUBSETS,
                              subset_size: int = DEFAULT_SUBSET_SIZE, seed: int = SEED) -> tuple[float, float]:
    """KID between two sets of features: (mean, standard deviation) over the subsets.

    Args:
        features_a, features_b (np.ndarray): N×D features of the two image sets (N may differ).
        subsets (int): random subsets drawn (without replacement within a subset).
        subset_size (int): images per subset; capped at the smaller set's size.
        seed (int): seed of the subset draws.
    """
    smaller = min(len(features_a), len(features_b))
    if smaller < 2:
        raise UserError(f"KID needs at least 2 images in each set, got {len(features_a)} and {len(features_b)}.")
    result = kid_features_to_metric(torch.from_numpy(np.asarray(features_a, np.float64)),
                                    torch.from_numpy(np.asarray(features_b, np.float64)),
                                    kid_subsets=subsets, kid_subset_size=min(subset_size, smaller),
                                    kid_kernel_poly_degree=3, kid_kernel_poly_gamma=None,
                                    kid_kernel_poly_coef0=1, rng_seed=seed, verbose=False)
    return result[KEY_METRIC_KID_MEAN], result[KEY_METRIC_KID_STD]
