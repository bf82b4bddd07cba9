"""Loss terms (docs/reference.md §4), each a small module; the model combines them with the lambda weights."""
import torch
import torch.nn as nn
import torch.nn.functional as F

GAN_MODES = ("hinge", "original", "ls", "w")


class GANLoss(nn.Module):
    """Adversarial loss over the outputs of a (multiscale) discriminator, averaged over scales.

    Args:
        gan_mode: ``hinge``, ``original`` (BCE with logits), ``ls`` (least squares) or ``w`` (Wasserstein).
    """

    def __init__(self, gan_mode: str = "hinge"):
        super().__init__()
        if gan_mode not in GAN_MODES:
            raise ValueError(f"unknown gan_mode {gan_mode}")
        self.gan_mode = gan_mode

    def forward(self, predictions, target_is_real: bool, for_discriminator: bool = True) -> torch.Tensor:
        """Args:
            predictions: a tensor, or one list per scale whose last element is the patch prediction
                (the earlier ones are features, ignored here).
            target_is_real: whether the inputs should be judged real.
            for_discriminator: hinge only: the discriminator's margin loss, else the generator's ``-mean``.
        """
        if isinstance(predictions, torch.Tensor):
            return self._single(predictions, target_is_real, for_discriminator)
        per_scale = [self._single(p[-1] if isinstance(p, (list, tuple)) else p, target_is_real, for_discriminator)
                     for p in predictions]
        return torch.stack(per_scale).mean()  # the reference averages over scales (docs/reference.md §4.1)

    def _single(self, prediction, target_is_real, for_discriminator):
        prediction = prediction.float()
        if self.gan_mode == "original":
            target = torch.full_like(prediction, 1.0 if target_is_real else 0.0)
            return F.binary_cross_entropy_with_logits(prediction, target)
        if self.gan_mode == "ls":
            target = torch.full_like(prediction, 1.0 if target_is_real else 0.0)
            return F.mse_loss(prediction, target)
        if self.gan_mode == "hinge":
            if not for_discriminator:
                assert target_is_real, "the generator's hinge loss is only defined for real targets"
                return -prediction.mean()
            margin = prediction - 1 if target_is_real else -prediction - 1
            return -torch.clamp(margin, max=0).mean()
        return -prediction.mean() if target_is_real else prediction.mean()


class FeatureMatchingLoss(nn.Module):
    """L1 between the discriminator's intermediate features on fake and real, summed over layers, averaged over scales."""

    def forward(self, fake_predictions, real_predictions) -> torch.Tensor:
        total = 0.0
        for fake_scale, real_scale in zip(fake_predictions, real_predictions):
            for fake_feature, real_feature in zip(fake_scale[:-1], real_scale[:-1]):
                total = total + F.l1_loss(fake_feature.float(), real_feature.detach().float())
        return total / len(fake_predictions)


class KLDLoss(nn.Module):
    """KL divergence of N(mu, exp(logvar)) from N(0, I), summed over batch and dimensions (as the reference)."""

    def forward(self, mu, logvar) -> torch.Tensor:
        mu, logvar = mu.float(), logvar.float()
        return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
