"""The ``cityscapes`` dataset mode: the official Cityscapes folders (docs/reference.md §1.5, §8.5).

    <dataroot>/gtFine/<phase>/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png     label ids 0..33
    <dataroot>/gtFine/<phase>/<city>/<city>_<seq>_<frame>_gtFine_instanceIds.png  16-bit instance ids
    <dataroot>/leftImg8bit/<phase>/<city>/<city>_<seq>_<frame>_leftImg8bit.png    photos
    <dataroot>/gtFine/<phase>/<city>/<city>_<seq>_<frame>_gtFine_distance.npy     CLADE-ICPE maps (optional)

``<phase>`` is ``val`` for ``--phase test``. Files pair up by their first three ``_`` tokens.
"""
import os

from data.image_folder import list_files
from data.pix2pix_dataset import Pix2pixDataset, dataroot_folder

LAYOUT = "the Cityscapes folder holding gtFine/ and leftImg8bit/"
LABEL_SUFFIX, INSTANCE_SUFFIX, DIST_SUFFIX = "_labelIds.png", "_instanceIds.png", "_distance.npy"


class CityscapesDataset(Pix2pixDataset):
    @staticmethod
    def modify_commandline_options(parser, is_train):
        parser = Pix2pixDataset.modify_commandline_options(parser, is_train)
        # batchSize 16 is SPADE's default for Cityscapes (CLADE dropped it); kept as SPADE does (docs/reference.md §1.5)
        parser.set_defaults(preprocess_mode="fixed", load_size=512, crop_size=512, display_winsize=512, label_nc=35,
                            aspect_ratio=2.0, batchSize=16)
        # the flag belongs to the generator's hook, which ran before this one
        if any(action.dest == "num_upsampling_layers" for action in parser._actions):
            parser.set_defaults(num_upsampling_layers="more")
        return parser

    def phase(self) -> str:
        return "val" if self.opt.phase == "test" else self.opt.phase

    def get_paths(self, opt):
        annotations = list_files(dataroot_folder(opt, "gtFine", self.phase(), layout=LAYOUT), "--dataroot")
        images = list_files(dataroot_folder(opt, "leftImg8bit", self.phase(), layout=LAYOUT), "--dataroot")
        labels = [path for path in annotations if path.endswith(LABEL_SUFFIX)]
        instances = [] if opt.no_instance else [path for path in annotations if path.endswith(INSTANCE_SUFFIX)]
        return labels, images, instances

    def pairing_key(self, path):
        return tuple(os.path.basename(path).split("_")[:3])  # city, sequence, frame

    def precomputed_dist_path(self, label_path):
        return label_path[: -len(LABEL_SUFFIX)] + DIST_SUFFIX
