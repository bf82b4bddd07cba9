"""The paired label/photo(/instance) dataset that every dataset mode builds on (docs/reference.md §8.2)."""
import os
import random

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from data.image_folder import stem
from data.positional_offsets import flip_offsets_horizontally, positional_offsets
from data.preprocess import crop_and_flip, ids_to_tensor, image_to_tensor, pil_nearest_indices, torch_nearest_indices, \
    transform, transform_tensor
from util.errors import UserError

DONTCARE = 255
# PIL modes of single-channel pictures: 8-bit, palette, 32-bit and 16-bit integer ids
ID_MAP_MODES = ("L", "P", "I", "I;16", "I;16B", "I;16L")


class Pix2pixDataset(Dataset):
    """Returns ``{'label', 'instance', 'image', 'path'}`` per sample (and ``'dist'`` with ``--add_dist``);
    subclasses say where the files are.

    Items are indices, or ``(index, sample_seed)`` pairs from ``data.sampler`` so that the random
    crop and flip of a sample depend only on the run's seed, epoch and position (exact resume).
    """

    @staticmethod
    def modify_commandline_options(parser, is_train):
        parser.add_argument("--no_pairing_check", action="store_true",
                            help="do not check that label and image file names pair up")
        if is_train:
            parser.add_argument("--no_validation", action="store_true",
                                help="skip opening every file once before training (data/validation.py); "
                                     "the check takes a few seconds per 10k samples and is skipped anyway "
                                     "while the files are unchanged since it last passed")
        return parser

    def __init__(self, opt):
        self.opt = opt
        label_paths, image_paths, instance_paths = self.get_paths(opt)
        limit = opt.max_dataset_size
        self.label_paths, self.image_paths = label_paths[:limit], image_paths[:limit]
        self.instance_paths = instance_paths[:limit]
        if opt.no_pairing_check:
            self._check_counts()
        else:
            self._check_pairing()

    def get_paths(self, opt) -> tuple[list[str], list[str], list[str]]:
        """Naturally sorted label, image and instance paths (instance list empty without instances)."""
        raise NotImplementedError

    def pairing_key(self, path: str):
        """What a label file and its photo (and instance map) have in common: the file name without extension."""
        return stem(path)

    def paths_match(self, path1: str, path2: str) -> bool:
        return self.pairing_key(path1) == self.pairing_key(path2)

    def precomputed_dist_path(self, label_path: str) -> str | None:
        """Where a precomputed positional map (``.npy``) of this label would be; None: always compute it.

        Args:
            label_path: the sample's label file.
        """
        return None

    def largest_label_id(self) -> int:
        """The largest class id a label map may hold, besides the dontcare id 255."""
        return self.opt.label_nc - 1

    def _check_counts(self):
        if len(self.label_paths) != len(self.image_paths):
            raise UserError(f"found {len(self.label_paths)} label files but {len(self.image_paths)} images; "
                            f"every label map needs exactly one photo of the same name.")
        if not self.opt.no_instance and len(self.instance_paths) != len(self.label_paths):
            raise UserError(f"found {len(self.instance_paths)} instance maps for {len(self.label_paths)} label files; "
                            f"give one instance map per label (--instance_dir) or pass --no_instance.")

    def _check_pairing(self):
        partners = {"images": self.image_paths, **({} if self.opt.no_instance else {"instance maps": self.instance_paths})}
        for role, others in partners.items():
            if len(others) != len(self.label_paths) or not all(map(self.paths_match, self.label_paths, others)):
                raise UserError(self._pairing_problem(role, others))

    def _pairing_problem(self, role: str, others: list[str]) -> str:
        """The sentence naming the files without a partner, and how many there are."""
        label_keys, other_keys = set(map(self.pairing_key, self.label_paths)), set(map(self.pairing_key, others))
        lonely_labels = [p for p in self.label_paths if self.pairing_key(p) not in other_keys]
        lonely_others = [p for p in others if self.pairing_key(p) not in label_keys]
        problems = [f"found {len(self.label_paths)} label files and {len(others)} {role}"]
        if lonely_labels:
            problems.append(f"{len(lonely_labels)} label file(s) have no {role[:-1]} of the same name "
                            f"(first: {lonely_labels[0]})")
        if lonely_others:
            problems.append(f"{len(lonely_others)} {role[:-1]}(s) have no label file of the same name "
                            f"(first: {lonely_others[0]})")
        if not (lonely_labels or lonely_others):
            problems.append("some names occur more than once, so they do not pair up one to one")
        return ("; ".join(problems) + "; add or rename the files so that every label map has exactly one partner, "
                "or pass --no_pairing_check to pair them by sorted position.")

    def label_problem(self, path: str, mode: str, ids: np.ndarray) -> str | None:
        """The sentence saying what is wrong with a label map, or None when it is fine.

        Args:
            path: the label file.
            mode: its PIL mode; colour modes mean a colour visualisation was given.
            ids: the distinct values it holds (ignored for colour modes).
        """
        if mode not in ID_MAP_MODES:
            return (f"label file {path} is a colour image ({mode}) and looks like a colour visualisation; use the id "
                    f"maps (e.g. the labels/ folder, not vis/), single-channel images of class ids.")
        if self.opt.contain_dontcare_label:
            ids = ids[ids != DONTCARE]
        elif (ids == DONTCARE).any():
            return (f"label file {path} contains the dontcare id 255; pass --contain_dontcare_label, "
                    f"or remove those pixels.")
        if ids.size and ids.max() > self.largest_label_id():
            needed = int(ids.max()) + self.opt.label_nc - self.largest_label_id()
            return (f"label file {path} contains class id {int(ids.max())} but --label_nc is {self.opt.label_nc}, "
                    f"which allows ids up to {self.largest_label_id()}; raise --label_nc to at least {needed} "
                    f"or fix the label map.")
        return None

    def __len__(self):
        return len(self.label_paths)

    def __getitem__(self, item):
        index, sample_seed = item if isinstance(item, tuple) else (item, None)
        rng = random.Random(sample_seed) if sample_seed is not None else random
        label_path = self.label_paths[index]
        label_image = self._checked_label(open_picture(label_path), label_path)
        params = crop_and_flip(self.opt, label_image.size, rng)
        label = ids_to_tensor(transform(label_image, self.opt, params, Image.NEAREST))
        label[label == DONTCARE] = self.opt.label_nc
        image = open_picture(self.image_paths[index]).convert("RGB")
        sample = {
            "label": label,
            "image": image_to_tensor(transform(image, self.opt, params, Image.BICUBIC)),
            "instance": self._instance(index, params),
            "path": self.image_paths[index],
        }
        if self.opt.add_dist:
            sample["dist"] = self._positional_map(label_path, label_image, params)
        return self.postprocess(sample)

    def _checked_label(self, label_image: Image.Image, path: str) -> Image.Image:
        ids = id_counts(np.asarray(label_image))[0] if label_image.mode in ID_MAP_MODES else np.zeros(0)
        problem = self.label_problem(path, label_image.mode, ids)
        if problem:
            raise UserError(problem)
        return label_image

    def _instance(self, index: int, params: dict):
        if self.opt.no_instance:
            return 0
        instance = transform(open_picture(self.instance_paths[index]), self.opt, params, Image.NEAREST)
        # int64 keeps 16- and 32-bit ids (e.g. Cityscapes' 26001) intact
        return torch.from_numpy(np.array(instance).astype(np.int64))[None]

    def _positional_map(self, label_path: str, label_image: Image.Image, params: dict) -> torch.Tensor:
        """CLADE-ICPE map [2, H, W] of the stored label (precomputed if there), with the sample's geometry."""
        stored = self.precomputed_dist_path(label_path)
        if stored and os.path.isfile(stored):
            offsets = load_dist_map(stored, label_path, label_image.size)
        else:
            offsets = positional_offsets(np.asarray(label_image))
        nearest = torch_nearest_indices if self.opt.dist_alignment == "clade" else pil_nearest_indices
        return transform_tensor(torch.from_numpy(offsets), self.opt, params, flip_offsets_horizontally, nearest)

    def postprocess(self, sample: dict) -> dict:
        """Hook for dataset modes that adjust a sample after loading."""
        return sample


def id_counts(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of an id map and the number of pixels holding each.

    Args:
        ids: an integer array (a decoded label map).
    """
    if ids.dtype == np.uint8:  # the common case: a histogram is several times faster than sorting
        counts = np.bincount(ids.ravel(), minlength=256)
        values = np.flatnonzero(counts)
        return values, counts[values]
    return np.unique(ids, return_counts=True)


def open_picture(path: str) -> Image.Image:
    """Open and decode a picture; an unreadable or truncated file is a UserError naming it."""
    try:
        image = Image.open(path)
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise UserError(unreadable_message(path, error))
    return image


def unreadable_message(path: str, error: BaseException) -> str:
    return f"cannot read {path} ({error}); replace or remove the file."


def load_dist_map(path: str, label_path: str, label_size: tuple[int, int]) -> np.ndarray:
    """A precomputed positional map, checked to be float [2, H, W] at the label's size.

    Args:
        path: the ``.npy`` file.
        label_path: its label file, for the error message.
        label_size: (width, height) of the stored label.
    """
    try:
        offsets = np.load(path)
    except (OSError, ValueError) as error:
        raise UserError(dist_unreadable_message(path, error))
    problem = dist_shape_problem(path, offsets.shape, label_path, label_size)
    if problem:
        raise UserError(problem)
    return offsets.astype(np.float32, copy=False)


def dist_unreadable_message(path: str, error: BaseException) -> str:
    return (f"cannot read positional map {path} ({error}); delete it and rerun scripts/compute_dist_maps.py, "
            f"or remove it to compute the map on the fly.")


def dist_shape_problem(path: str, shape: tuple, label_path: str, label_size: tuple[int, int]) -> str | None:
    """The sentence saying a positional map does not fit its label, or None."""
    width, height = label_size
    if tuple(shape) != (2, height, width):
        return (f"positional map {path} has shape {tuple(shape)} but its label {label_path} needs (2, {height}, "
                f"{width}); delete it and rerun scripts/compute_dist_maps.py on the label folder.")
    return None


def dataroot_folder(opt, *parts: str, layout: str) -> str:
    """``<dataroot>/<parts...>`` of a built-in dataset layout, checked to exist.

    Args:
        opt: options; reads ``dataroot``.
        parts: the folder's path below ``--dataroot``.
        layout: what ``--dataroot`` should hold, for the error message.
    """
    folder = os.path.join(opt.dataroot, *parts)
    if not os.path.isdir(folder):
        raise UserError(f"--dataroot {opt.dataroot} has no {'/'.join(parts)}/ folder; point --dataroot at {layout}.")
    return folder
