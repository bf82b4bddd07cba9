"""The ``celebamaskhq`` dataset mode: the folder ``scripts/prepare_celebamaskhq.py`` writes (docs/reference.md §9.4).

    <dataroot>/<phase>/images/<id>.jpg, labels/<id>.png (class ids 0..18), dist/<id>.npy (optional)

SEAN trains on the same files with ``--dataset_mode custom --label_nc 19 --no_instance``; this mode
only saves typing those flags and the two folders.
"""
import os

from data.image_folder import list_files, stem
from data.pix2pix_dataset import Pix2pixDataset, dataroot_folder
from util.celebamaskhq import CLASS_NAMES
from util.errors import UserError

LAYOUT = "the folder scripts/prepare_celebamaskhq.py wrote (holding train/ and test/, each with images/ and labels/)"


class CelebAMaskHQDataset(Pix2pixDataset):
    @staticmethod
    def modify_commandline_options(parser, is_train):
        parser = Pix2pixDataset.modify_commandline_options(parser, is_train)
        parser.set_defaults(label_nc=len(CLASS_NAMES), no_instance=True, contain_dontcare_label=False,
                            preprocess_mode="resize_and_crop", load_size=256, crop_size=256, display_winsize=256,
                            aspect_ratio=1.0)
        return parser

    def get_paths(self, opt):
        if not opt.no_instance:
            raise UserError("CelebAMask-HQ has no instance maps; pass --no_instance (the default of "
                            "--dataset_mode celebamaskhq).")
        labels = list_files(dataroot_folder(opt, opt.phase, "labels", layout=LAYOUT), "--dataroot")
        images = list_files(dataroot_folder(opt, opt.phase, "images", layout=LAYOUT), "--dataroot")
        return labels, images, []

    def precomputed_dist_path(self, label_path):
        return os.path.join(self.opt.dataroot, self.opt.phase, "dist", stem(label_path) + ".npy")
