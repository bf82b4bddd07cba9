"""SEAN's style-code files (docs/sean_reference.md), so its editing UI reads ours and we read its.

    <root>/style_codes/<image file name>/<class id>/ACE.npy        one float32 vector (512 values in SEAN)
    <root>/mean_style_code/mean/<class id>/ACE.npy                the mean over all images with that class

``<image file name>`` keeps its extension (``28000.jpg``), as SEAN writes it; only classes present
in the image have a folder.
"""
from pathlib import Path

import numpy as np
import torch

from util.errors import UserError

CODE_FILE = "ACE.npy"
CODES_FOLDER = "style_codes"
MEAN_FOLDER = Path("mean_style_code") / "mean"


def save_image_codes(root: Path, image_name: str, codes: torch.Tensor, present: torch.Tensor) -> None:
    """Write one image's codes [classes, length] for the classes marked in ``present`` [classes]."""
    for j in torch.nonzero(present).flatten().tolist():
        folder = Path(root) / CODES_FOLDER / image_name / str(j)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / CODE_FILE, codes[j].detach().cpu().float().numpy())


def load_codes_folder(folder: Path, classes: int, length: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """Codes [classes, length] and presence [classes] from a folder of ``<class>/ACE.npy`` (absent: zeros)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"style-code folder {folder} does not exist; write it with test.py --save_style_codes "
                        f"(or scripts/mean_style_codes.py for the means).")
    codes, present = torch.zeros(classes, length), torch.zeros(classes, dtype=torch.bool)
    for path in folder.glob(f"*/{CODE_FILE}"):
        j = int(path.parent.name) if path.parent.name.isdigit() else -1
        if not 0 <= j < classes:
            raise UserError(f"style-code file {path} is for class {path.parent.name}, outside 0..{classes - 1}; "
                            f"check --label_nc.")
        vector = np.load(path)
        if vector.shape != (length,):
            raise UserError(f"style-code file {path} holds an array of shape {vector.shape}, not ({length},); "
                            f"it is not a style code of this generator (--style_length).")
        codes[j], present[j] = torch.from_numpy(vector.astype(np.float32)), True
    return codes, present


def image_codes_folder(root: Path, image_name: str) -> Path:
    return Path(root) / CODES_FOLDER / image_name


def write_mean_codes(root: Path, classes: int | None = None) -> dict[int, int]:
    """Average each class's codes over all images under ``<root>/style_codes``; returns {class: images averaged}."""
    by_class: dict[int, list[np.ndarray]] = {}
    for path in sorted((Path(root) / CODES_FOLDER).glob(f"*/*/{CODE_FILE}")):
        if path.parent.name.isdigit() and (classes is None or int(path.parent.name) < classes):
            by_class.setdefault(int(path.parent.name), []).append(np.load(path))
    if not by_class:
        raise UserError(f"no style codes found under {Path(root) / CODES_FOLDER}; run test.py --save_style_codes "
                        f"with --results_dir/--name/--which_epoch pointing there first.")
    for j, vectors in by_class.items():
        folder = Path(root) / MEAN_FOLDER / str(j)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / CODE_FILE, np.mean(np.stack(vectors), axis=0))
    return {j: len(v) for j, v in sorted(by_class.items())}


def blend_codes(base: torch.Tensor, donor: torch.Tensor, donor_present: torch.Tensor, classes=None,
                alpha: float = 1.0) -> torch.Tensor:
    """``base`` codes [classes, length] with the chosen classes moved towards ``donor``'s: ``(1 - alpha)·base + alpha·donor``.

    Args:
        base: the codes kept where nothing is transferred.
        donor: the codes transferred.
        donor_present: [classes] bool; classes the donor has no code for keep ``base``'s.
        classes: class ids to transfer (None: all).
        alpha: 0 keeps ``base``, 1 takes ``donor``; values between interpolate.
    """
    take = donor_present.clone()
    if classes is not None:
        chosen = torch.zeros_like(take)
        chosen[list(classes)] = True
        take &= chosen
    mixed = base.clone()
    mixed[take] = (1 - alpha) * base[take] + alpha * donor[take]
    return mixed
