"""The paired label/photo(/instance) dataset that every dataset mode builds on (INVENTORY §8.2)."""
import random

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from data.image_folder import stem
from data.preprocess import crop_and_flip, ids_to_tensor, image_to_tensor, transform
from util.errors import UserError

DONTCARE = 255


class Pix2pixDataset(Dataset):
    """Returns ``{'label', 'instance', 'image', 'path'}`` per sample; subclasses say where the files are.

    Items are indices, or ``(index, sample_seed)`` pairs from ``data.sampler`` so that the random
    crop and flip of a sample depend only on the run's seed, epoch and position (exact resume).
    """

    @staticmethod
    def modify_commandline_options(parser, is_train):
        parser.add_argument("--no_pairing_check", action="store_true",
                            help="do not check that label and image file names pair up")
        return parser

    def __init__(self, opt):
        self.opt = opt
        label_paths, image_paths, instance_paths = self.get_paths(opt)
        limit = opt.max_dataset_size
        self.label_paths, self.image_paths = label_paths[:limit], image_paths[:limit]
        self.instance_paths = instance_paths[:limit]
        self._check_counts()
        if not opt.no_pairing_check:
            self._check_pairing()

    def get_paths(self, opt) -> tuple[list[str], list[str], list[str]]:
        """Naturally sorted label, image and instance paths (instance list empty without instances)."""
        raise NotImplementedError

    def paths_match(self, path1: str, path2: str) -> bool:
        return stem(path1) == stem(path2)

    def _check_counts(self):
        if len(self.label_paths) != len(self.image_paths):
            raise UserError(f"found {len(self.label_paths)} label files but {len(self.image_paths)} images; "
                            f"every label map needs exactly one photo of the same name.")
        if not self.opt.no_instance and len(self.instance_paths) != len(self.label_paths):
            raise UserError(f"found {len(self.instance_paths)} instance maps for {len(self.label_paths)} label files; "
                            f"give one instance map per label (--instance_dir) or pass --no_instance.")

    def _check_pairing(self):
        for others in (self.image_paths, self.instance_paths):
            for label_path, other in zip(self.label_paths, others):
                if not self.paths_match(label_path, other):
                    raise UserError(f"label file {label_path} and {other} do not pair up (different names at the same "
                                    f"position in sorted order); rename them so their names match, or pass "
                                    f"--no_pairing_check.")

    def __len__(self):
        return len(self.label_paths)

    def __getitem__(self, item):
        index, sample_seed = item if isinstance(item, tuple) else (item, None)
        rng = random.Random(sample_seed) if sample_seed is not None else random
        label_image = _open(self.label_paths[index])
        params = crop_and_flip(self.opt, label_image.size, rng)
        label = ids_to_tensor(transform(self._checked_label(label_image, self.label_paths[index]), self.opt, params,
                                        Image.NEAREST))
        label[label == DONTCARE] = self.opt.label_nc
        image = _open(self.image_paths[index]).convert("RGB")
        sample = {
            "label": label,
            "image": image_to_tensor(transform(image, self.opt, params, Image.BICUBIC)),
            "instance": self._instance(index, params),
            "path": self.image_paths[index],
        }
        return self.postprocess(sample)

    def _checked_label(self, label_image: Image.Image, path: str) -> Image.Image:
        """Reject colour label maps and ids outside ``[0, label_nc)`` (255 needs ``--contain_dontcare_label``)."""
        if label_image.mode not in ("L", "P", "I", "I;16", "I;16B", "I;16L"):
            raise UserError(f"label file {path} is a {label_image.mode} colour image; label maps must be single-channel "
                            f"images of class ids (convert the colours to ids first).")
        ids = np.unique(np.asarray(label_image))
        if self.opt.contain_dontcare_label:
            ids = ids[ids != DONTCARE]
        elif (ids == DONTCARE).any():
            raise UserError(f"label file {path} contains the dontcare id 255; pass --contain_dontcare_label, "
                            f"or remove those pixels.")
        if ids.size and ids.max() >= self.opt.label_nc:
            raise UserError(f"label file {path} contains class id {int(ids.max())} but --label_nc is "
                            f"{self.opt.label_nc}; ids must be smaller than --label_nc, so raise --label_nc "
                            f"to at least {int(ids.max()) + 1} or fix the label map.")
        return label_image

    def _instance(self, index: int, params: dict):
        if self.opt.no_instance:
            return 0
        instance = transform(_open(self.instance_paths[index]), self.opt, params, Image.NEAREST)
        return torch.from_numpy(np.array(instance).astype(np.int64))[None]

    def postprocess(self, sample: dict) -> dict:
        """Hook for dataset modes that adjust a sample after loading."""
        return sample


def _open(path: str) -> Image.Image:
    try:
        image = Image.open(path)
        image.load()
    except (OSError, ValueError) as error:
        raise UserError(f"cannot read {path} ({error}); replace or remove the file.")
    return image
