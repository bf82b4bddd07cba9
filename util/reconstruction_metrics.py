"""Reconstruction quality as SEAN's paper reports it: SSIM, PSNR and RMSE of generated against real images.

scikit-image's ``structural_similarity`` (Gaussian-free 7×7 window, as its default) and
``peak_signal_noise_ratio`` are the common implementations; the pictures are compared as
the 8-bit files ``test.py`` writes. RMSE is over pixel values scaled to [0, 1].
"""
import numpy as np
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity


class ReconstructionMetrics:
    """Per-image SSIM, PSNR and RMSE, averaged over all images added."""

    def __init__(self):
        self.scores: list[tuple[float, float, float]] = []

    def add(self, generated: np.ndarray, real: np.ndarray) -> None:
        """Args: two H×W×3 uint8 pictures."""
        ssim = structural_similarity(real, generated, channel_axis=2, data_range=255)
        mse = mean_squared_error(real.astype(np.float64) / 255, generated.astype(np.float64) / 255)
        psnr = float("inf") if mse == 0 else peak_signal_noise_ratio(real, generated, data_range=255)
        self.scores.append((float(ssim), float(psnr), float(np.sqrt(mse))))

    def result(self) -> dict[str, float]:
        ssim, psnr, rmse = np.mean(np.array(self.scores), axis=0)
        return {"SSIM": float(ssim), "PSNR": float(psnr), "RMSE": float(rmse)}
