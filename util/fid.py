"""Fréchet Inception Distance with pytorch-fid's Inception, so numbers compare with papers.

Every image tensor here is float, N×3×H×W, in [-1, 1] (what the generator outputs);
Inception resizes it to 299×299 itself.
"""
import zipfile
from pathlib import Path
from unittest import mock
from urllib.error import URLError

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image, UnidentifiedImageError
from pytorch_fid import inception as pytorch_fid_inception
from pytorch_fid.inception import InceptionV3
from scipy import linalg
from tqdm import tqdm

from util.errors import UserError
from util.files import atomic_write
from util.image_extensions import IMAGE_EXTENSIONS

WEIGHTS_URL = pytorch_fid_inception.FID_WEIGHTS_URL
WEIGHTS_FILE_NAME = WEIGHTS_URL.rsplit("/", 1)[1]
SUPPORTED_DIMS = tuple(InceptionV3.BLOCK_INDEX_BY_DIM)
# below this many images an FID mostly measures its own small-sample bias (papers use 5,000 to 50,000)
FEW_IMAGES = 500


def few_images_note(count: int, dims: int) -> str | None:
    """A warning when an FID of ``count`` images says little, else None."""
    if count >= FEW_IMAGES:
        return None
    singular = f"; with no more images than the {dims} features their covariance is singular" if count <= dims else ""
    return (f"note: an FID of {count} images is dominated by its small-sample bias{singular}: compare it only with "
            f"FIDs of the same images, and report FIDs of thousands of images")


def cached_weights_path() -> Path:
    """Where torch hub keeps (or would keep) the FID Inception weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE_NAME


def fid_inception_trunk() -> torch.nn.Module:
    """The FID Inception network (TF-ported layout) with random weights and no download.

    Its state_dict has the layout of the weight file, so tests can write a stand-in for it.
    Mirrors pytorch-fid's `fid_inception_v3()` minus the download.
    """
    trunk = torchvision.models.inception_v3(
        weights=None, num_classes=1008, aux_logits=False, init_weights=False)
    trunk.Mixed_5b = pytorch_fid_inception.FIDInceptionA(192, pool_features=32)
    trunk.Mixed_5c = pytorch_fid_inception.FIDInceptionA(256, pool_features=64)
    trunk.Mixed_5d = pytorch_fid_inception.FIDInceptionA(288, pool_features=64)
    trunk.Mixed_6b = pytorch_fid_inception.FIDInceptionC(768, channels_7x7=128)
    trunk.Mixed_6c = pytorch_fid_inception.FIDInceptionC(768, channels_7x7=160)
    trunk.Mixed_6d = pytorch_fid_inception.FIDInceptionC(768, channels_7x7=160)
    trunk.Mixed_6e = pytorch_fid_inception.FIDInceptionC(768, channels_7x7=192)
    trunk.Mixed_7b = pytorch_fid_inception.FIDInceptionE_1(1280)
    trunk.Mixed_7c = pytorch_fid_inception.FIDInceptionE_2(2048)
    return trunk


def load_inception(dims: int = 2048, weights=None, device="cpu") -> InceptionV3:
    """pytorch-fid's InceptionV3 with the standard FID weights, in eval mode.

    The returned model takes images in [-1, 1] and returns a one-element list of
    N×dims×h×w features (use `activation_statistics` rather than calling it directly).

    Args:
        dims (int): feature size, one of 64, 192, 768, 2048 (2048 is the FID of papers).
        weights (str or Path or None): local `pt_inception-2015-12-05-6726825d.pth`;
            None takes it from the torch hub cache, downloading it there if needed.
        device (str or torch.device): where the model runs.
    """
    if dims not in SUPPORTED_DIMS:
        raise UserError(f"FID dims {dims} is not supported; use one of "
                        f"{', '.join(map(str, SUPPORTED_DIMS))}.")
    state_dict = _read_weights(Path(weights)) if weights else _cached_or_downloaded_weights()
    # pytorch-fid downloads inside InceptionV3(); hand it our state_dict instead, so the
    # architecture stays exactly pytorch-fid's. Input is [-1, 1], hence no normalize_input.
    with mock.patch.object(pytorch_fid_inception, "load_state_dict_from_url",
                           lambda *args, **kwargs: state_dict):
        try:
            model = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[dims]], normalize_input=False)
        except (RuntimeError, TypeError) as error:  # wrong keys/shapes, or not a state_dict
            source = weights or cached_weights_path()
            raise UserError(f"{source} does not hold the FID Inception weights ({error}); "
                            f"use {WEIGHTS_FILE_NAME} from {WEIGHTS_URL}.") from None
    return model.eval().to(device)


def _read_weights(path: Path) -> dict:
    if not path.is_file():
        raise UserError(f"FID Inception weights {path} do not exist; download "
                        f"{WEIGHTS_FILE_NAME} from {WEIGHTS_URL} and pass its path.")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch.load raises many kinds on a damaged file
        raise UserError(f"FID Inception weights {path} cannot be read ({error}); replace it "
                        f"with {WEIGHTS_FILE_NAME} from {WEIGHTS_URL}.") from None


def _cached_or_downloaded_weights() -> dict:
    cached = cached_weights_path()
    if cached.is_file():
        return _read_weights(cached)
    try:
        return torch.hub.load_state_dict_from_url(WEIGHTS_URL, map_location="cpu",
                                                  progress=True, weights_only=True)
    except (URLError, OSError) as error:
        raise UserError(
            f"FID Inception weights {WEIGHTS_FILE_NAME} are not in the torch hub cache and "
            f"could not be downloaded ({error}); download {WEIGHTS_URL} to {cached}, or pass "
            f"a local copy with --fid_weights PATH (training) or --weights PATH "
            f"(scripts/fid_score.py).") from None


def activation_statistics(image_batches, model, device=None):
    """Mean and covariance of Inception features over all images.

    Args:
        image_batches (iterable of torch.Tensor): float N×3×H×W batches in [-1, 1];
            sizes may differ between batches.
        model (InceptionV3): from `load_inception`.
        device (str or torch.device or None): where `model` is; None finds out.

    Returns:
        (mu, sigma): float64 arrays of shapes (dims,) and (dims, dims).
    """
    statistics = ActivationStatistics(model, device)
    for batch in image_batches:
        statistics.add(batch)
    return statistics.result()


class ActivationStatistics:
    """Inception feature statistics gathered batch by batch, in memory independent of the image count.

    Sums of the features and of their outer products are kept relative to the first batch's
    mean, which keeps the one-pass covariance free of cancellation.

    Args:
        model (InceptionV3): from `load_inception`.
        device (str or torch.device or None): where `model` is; None finds out.
    """

    def __init__(self, model, device=None):
        self.model = model
        self.device = device or next(model.parameters()).device
        self.count, self.shift, self.sum, self.outer = 0, None, None, None

    @torch.no_grad()
    def add(self, images: torch.Tensor) -> None:
        """Args:
            images (torch.Tensor): float N×3×H×W in [-1, 1].
        """
        features = pooled_features(images, self.model, self.device)
        if self.shift is None:
            self.shift = features.mean(axis=0)
            self.sum = np.zeros_like(self.shift)
            self.outer = np.zeros((len(self.shift), len(self.shift)))
        centred = features - self.shift
        self.count += len(features)
        self.sum += centred.sum(axis=0)
        self.outer += centred.T @ centred

    def result(self):
        """(mu, sigma): float64 mean (dims,) and covariance (dims, dims) of the images added."""
        if self.count < 2:
            raise UserError(f"FID needs at least 2 images, got {self.count}.")
        mean = self.sum / self.count
        sigma = (self.outer - self.count * np.outer(mean, mean)) / (self.count - 1)
        return self.shift + mean, sigma


def pooled_features(batch: torch.Tensor, model, device) -> np.ndarray:
    """Inception features of a batch, averaged over space: N×dims float64 (the vectors FID and KID compare).

    Args:
        batch (torch.Tensor): float N×3×H×W in [-1, 1].
        model (InceptionV3): from `load_inception`.
        device (str or torch.device): where `model` is.
    """
    if batch.dim() != 4 or batch.size(1) != 3:
        raise ValueError(f"expected N×3×H×W images, got shape {tuple(batch.shape)}")
    features = model(batch.to(device, torch.float32))[0]
    # Blocks below 2048 end in spatial maps; pytorch-fid averages them the same way.
    features = F.adaptive_avg_pool2d(features, (1, 1)).flatten(1)
    return features.cpu().numpy().astype(np.float64)


def as_saved_8bit(images: torch.Tensor) -> torch.Tensor:
    """Generated images as they read back from the PNGs that ``test.py`` writes (8-bit, truncated).

    FID of generated tensors then equals the FID of the saved pictures.

    Args:
        images (torch.Tensor): float N×3×H×W in [-1, 1].
    """
    levels = ((images.float() + 1) / 2 * 255).clamp(0, 255).floor()
    return levels / 127.5 - 1


class _FolderBatches(torch.utils.data.Dataset):
    """Batches of consecutive same-size images of a folder, so no image is resized twice."""

    def __init__(self, paths, batch_size):
        self.batches = []
        previous_size = None
        for path in paths:
            size = _image_size(path)
            if size != previous_size or len(self.batches[-1]) == batch_size:
                self.batches.append([])
            self.batches[-1].append(path)
            previous_size = size

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        return torch.stack([_read_image(path) for path in self.batches[index]])


def _image_size(path: Path):
    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, UnidentifiedImageError) as error:
        raise UserError(f"Image {path} cannot be read ({error}); "
                        "replace or remove it.") from None


def _read_image(path: Path) -> torch.Tensor:
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
    except (OSError, UnidentifiedImageError) as error:
        raise UserError(f"Image {path} cannot be read ({error}); "
                        "replace or remove it.") from None
    return torch.from_numpy(pixels.copy()).permute(2, 0, 1).float() / 127.5 - 1


def image_paths(folder, at_least: int = 1) -> list:
    """The images of a folder (not its subfolders), sorted by name.

    Args:
        folder (str or Path): folder holding pictures (``util/image_extensions.py``).
        at_least (int): the fewest images that will do (FID needs 2).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"Image folder {folder} does not exist; check the path.")
    paths = sorted(path for path in folder.iterdir()
                   if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS)
    if not paths:
        raise UserError(f"Image folder {folder} holds no {'/'.join(IMAGE_EXTENSIONS)} "
                        "images; check the path.")
    if len(paths) < at_least:
        raise UserError(f"Image folder {folder} holds only {len(paths)} image(s); FID needs at least {at_least}.")
    return paths


def folder_statistics(folder, model, batch_size=50, device=None, progress=True,
                      num_workers=0):
    """Inception statistics of every image in a folder.

    Args:
        folder (str or Path): folder of pictures (``util/image_extensions.py``), read as RGB.
        model (InceptionV3): from `load_inception`.
        batch_size (int): images per Inception batch (fewer where image sizes change).
        device (str or torch.device or None): where `model` is; None finds out.
        progress (bool): show a tqdm bar over the images.
        num_workers (int): DataLoader worker processes that decode images.

    Returns:
        (mu, sigma): as `activation_statistics`.
    """
    paths = image_paths(folder, at_least=2)
    loader = torch.utils.data.DataLoader(_FolderBatches(paths, batch_size), batch_size=None,
                                         num_workers=num_workers)
    with tqdm(total=len(paths), desc=str(folder), unit="img", disable=not progress) as bar:
        return activation_statistics(_counted(loader, bar), model, device)


def _counted(batches, bar):
    for batch in batches:
        yield batch
        bar.update(len(batch))


def save_statistics(path, mu, sigma, source=""):
    """Write statistics as a pytorch-fid `.npz` (keys `mu`, `sigma`), atomically.

    Args:
        path (str or Path): output file, written under exactly this name.
        mu (np.ndarray): feature mean, shape (dims,).
        sigma (np.ndarray): feature covariance, shape (dims, dims).
        source (str): what the statistics were computed from (key `source`; pytorch-fid
            ignores it), so a cache can tell when its images changed.
    """
    arrays = {"mu": mu, "sigma": sigma, **({"source": np.array(source)} if source else {})}
    # np.savez(path) would append ".npz" to other names
    atomic_write(path, lambda file: np.savez(file, **arrays))


def statistics_source(path) -> str:
    """The `source` text saved with statistics by `save_statistics`, or "" where there is none.

    Args:
        path (str or Path): an `.npz` statistics file.
    """
    try:
        with np.load(path, allow_pickle=False) as stats:
            return str(stats["source"]) if "source" in stats.files else ""
    except (OSError, ValueError, zipfile.BadZipFile):
        return ""


def load_statistics(path):
    """Read statistics from a pytorch-fid `.npz` (keys `mu`, `sigma`).

    Args:
        path (str or Path): the `.npz` file.

    Returns:
        (mu, sigma): float64 arrays.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"FID statistics file {path} does not exist; check the path.")
    fix = f"recompute it with scripts/fid_score.py FOLDER --save-stats {path}"
    try:
        with open(path, "rb") as file:
            stats = np.load(file, allow_pickle=False)
            keys = getattr(stats, "files", [])  # a plain .npy loads as one array, without keys
            if "mu" not in keys or "sigma" not in keys:
                raise UserError(f"FID statistics file {path} has no 'mu' and 'sigma' arrays; "
                                f"{fix}.")
            return stats["mu"].astype(np.float64), stats["sigma"].astype(np.float64)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise UserError(f"FID statistics file {path} cannot be read ({error}); {fix}.") from None


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between two Gaussians: |mu1-mu2|² + tr(s1) + tr(s2) - 2·tr(sqrt(s1·s2)).

    tr(sqrt(s1·s2)) is the sum of the square roots of the eigenvalues of s1·s2, which are those
    of the symmetric matrix sqrt(s1)·s2·sqrt(s1). Two symmetric eigendecompositions (LAPACK's
    divide-and-conquer driver) take about 2 s at 2048 dims on two CPU cores, where scipy's
    general `sqrtm` of s1·s2 takes 11-40 s. Round-off gives singular covariances (fewer images
    than dims) tiny negative eigenvalues; they count as zero.

    Args:
        mu1, mu2 (np.ndarray): means, shape (dims,).
        sigma1, sigma2 (np.ndarray): symmetric positive semi-definite covariances, shape (dims, dims).
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1 = np.atleast_2d(sigma1).astype(np.float64)
    sigma2 = np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"statistics differ in size: {mu1.shape} vs {mu2.shape}, "
                         f"{sigma1.shape} vs {sigma2.shape}")
    sqrt_sigma1 = _symmetric_sqrt(sigma1)
    product = sqrt_sigma1 @ sigma2 @ sqrt_sigma1
    eigenvalues = linalg.eigh((product + product.T) / 2, eigvals_only=True, driver="evd")
    trace_sqrt = np.sqrt(np.clip(eigenvalues, 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)


def _symmetric_sqrt(matrix: np.ndarray) -> np.ndarray:
    eigenvalues, eigenvectors = linalg.eigh((matrix + matrix.T) / 2, driver="evd")
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T
