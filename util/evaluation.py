"""The figures of one set of generated pictures: FID, KID, mIoU, pixel accuracy, per-class IoU, LPIPS diversity.

``PictureScores`` takes batches of (generated, real, label map) and keeps what each metric needs:
the Inception pool features of both sets (FID and KID share them) and the segmenter's confusion
matrix. ``diversity`` scores a generator whose styles are random.
"""
import math

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from util import fid
from util.errors import UserError
from util.kid import kernel_inception_distance
from util.lpips_diversity import mean_pairwise_lpips
from util.segmentation_metrics import ConfusionMatrix

METRICS = ("fid", "kid", "seg", "diversity")


class PictureScores:
    """Accumulates generated pictures, their real photos and label maps, batch by batch.

    Args:
        inception (InceptionV3 or None): from ``util.fid.load_inception`` (2048 dims); None skips FID and KID.
        segmenter (Segmenter or None): from ``models.segmenters.load_segmenter``; None skips the segmentation scores.
        kid_subsets, kid_subset_size (int): KID's random subsets.
        want_fid, want_kid (bool): which of the two Inception figures to report.
    """

    def __init__(self, inception=None, segmenter=None, kid_subsets: int = 100,
                 kid_subset_size: int = 1000, want_fid: bool = True, want_kid: bool = True):
        self.inception, self.segmenter = inception, segmenter
        self.want_fid, self.want_kid = want_fid, want_kid
        self.kid_subsets, self.kid_subset_size = kid_subsets, kid_subset_size
        self.features = {"generated": [], "real": []}
        self.confusion = ConfusionMatrix(len(segmenter.evaluated_labels)) if segmenter is not None else None
        self.count = 0

    @torch.no_grad()
    def add(self, generated: torch.Tensor, real: torch.Tensor | None, labels: torch.Tensor | None) -> None:
        """Args:
            generated (torch.Tensor): N×3×H×W in [-1, 1].
            real (torch.Tensor or None): M×3×H'×W' real photos in [-1, 1] (needed for FID and KID).
            labels (torch.Tensor or None): N×H×W (or N×1×H×W) label ids of the generated pictures; only the
                labels the segmenter scores count.
        """
        self.count += len(generated)
        if self.inception is not None:
            device = next(self.inception.parameters()).device
            self.features["generated"].append(fid.pooled_features(generated, self.inception, device))
            if real is not None:
                self.features["real"].append(fid.pooled_features(real, self.inception, device))
        if self.confusion is not None:
            labels = labels.reshape(len(generated), *labels.shape[-2:]).long()
            predicted = self.segmenter.predict(generated, tuple(labels.shape[-2:]))
            self.confusion.add(self.segmenter.evaluation_index(predicted), self.segmenter.evaluation_index(labels))

    @torch.no_grad()
    def add_real(self, real: torch.Tensor) -> None:
        """Real photos that have no generated counterpart (plain-folders mode): N×3×H×W in [-1, 1]."""
        if self.inception is not None:
            device = next(self.inception.parameters()).device
            self.features["real"].append(fid.pooled_features(real, self.inception, device))

    def result(self) -> dict:
        """The figures; metrics not computed are absent."""
        figures = {"images": self.count}
        if self.inception is not None:
            generated, real = (np.concatenate(self.features[key]) for key in ("generated", "real"))
            if self.want_fid:
                statistics = [(f.mean(axis=0), np.cov(f, rowvar=False)) for f in (real, generated)]
                if min(len(real), len(generated)) < 2:
                    raise UserError(f"FID needs at least 2 images in each set, got {len(real)} real and "
                                    f"{len(generated)} generated.")
                figures["fid"] = max(fid.frechet_distance(*statistics[0], *statistics[1]), 0.0)
            if self.want_kid:
                figures["kid"], figures["kid_std"] = kernel_inception_distance(
                    generated, real, self.kid_subsets, self.kid_subset_size)
        if self.confusion is not None:
            figures["miou"] = self.confusion.mean_iou()
            figures["accuracy"] = self.confusion.pixel_accuracy()
            figures["per_class_iou"] = {name: _finite_or_none(iou)
                                        for name, iou in zip(self.class_names(), self.confusion.per_class_iou())}
        return figures


    def class_names(self) -> list[str]:
        names = self.segmenter.spec.class_names
        return list(names) if names is not None else [str(label) for label in self.segmenter.evaluated_labels]


def _finite_or_none(value: float):
    return None if math.isnan(value) else float(value)


@torch.no_grad()
def diversity(batches, pictures_of, lpips_model, samples: int, total: int) -> float:
    """Mean LPIPS between pictures of the same label map that differ only in their random style.

    Args:
        batches (iterable of dict): data batches of label maps.
        pictures_of (callable): batch → N×3×H×W pictures in [-1, 1] with freshly drawn random styles.
        lpips_model: from ``util.lpips_diversity.load_lpips``.
        samples (int): pictures per label map (all pairs of them are compared).
        total (int): label maps to use at most (progress bar length).
    """
    distances = []
    with tqdm(total=total, desc="diversity (LPIPS)", unit="map") as progress:
        for batch in batches:
            drawn = torch.stack([pictures_of(batch) for _ in range(samples)], dim=1)  # N×K×3×H×W
            for pictures in drawn[:total - len(distances)]:
                distances.append(mean_pairwise_lpips(lpips_model, fid.as_saved_8bit(pictures)))
                progress.update(1)
            if len(distances) >= total:
                break
    return float(np.mean(distances))


def read_picture(path) -> torch.Tensor:
    """An image file as a 3×H×W float tensor in [-1, 1] (RGB)."""
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
    except (OSError, UnidentifiedImageError) as error:
        raise UserError(f"picture {path} cannot be read ({error}); replace or remove it.") from None
    return torch.from_numpy(pixels.copy()).permute(2, 0, 1).float() / 127.5 - 1


def read_label_map(path) -> torch.Tensor:
    """A label file of class ids (8- or 16-bit grey PNG) as an H×W long tensor."""
    try:
        with Image.open(path) as image:
            if image.mode not in ("L", "P", "I", "I;16"):
                raise UserError(f"label file {path} is a {image.mode} image; labels must be class ids "
                                f"(one grey channel), not a colour visualisation.")
            ids = np.asarray(image).astype(np.int64)
    except (OSError, UnidentifiedImageError) as error:
        raise UserError(f"label file {path} cannot be read ({error}); replace or remove it.") from None
    return torch.from_numpy(ids)
