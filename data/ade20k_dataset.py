"""The ``ade20k`` and ``ade20koutdoor`` dataset modes: ADEChallengeData2016 as released (docs/reference.md §1.5, §8.5).

Every file under ``--dataroot`` whose name contains ``_train_`` (``_val_`` for ``--phase test``) is
taken: ``.jpg`` files are photos, ``.png`` files label maps (ids 0..150). CLADE-ICPE maps are read
from ``<dataroot>/distances/<label's folder name>/<stem>.npy`` where present (CLADE's layout:
``distances/training``, ``distances/validation``).

Labels are used as stored: class 0 ("other") stays index 0 and ids 1..150 keep their value, so id
150 lands in the dontcare channel (index ``label_nc``). The reference's postprocess means to shift
the ids down by one but never writes the result back (docs/reference.md §8.5, §12.8); we keep that
behaviour so that pretrained ade20k checkpoints see the inputs they were trained on.
"""
import os

from data.image_folder import list_files, stem
from data.pix2pix_dataset import Pix2pixDataset
from util.errors import UserError

PHOTO_SUFFIX, LABEL_SUFFIX = ".jpg", ".png"


class ADE20KDataset(Pix2pixDataset):
    @staticmethod
    def modify_commandline_options(parser, is_train):
        parser = Pix2pixDataset.modify_commandline_options(parser, is_train)
        parser.set_defaults(preprocess_mode="resize_and_crop", load_size=286 if is_train else 256, crop_size=256,
                            display_winsize=256, label_nc=150, contain_dontcare_label=True, no_instance=True,
                            cache_filelist_read=False, cache_filelist_write=False)
        return parser

    def get_paths(self, opt):
        tag = f"_{'val' if opt.phase == 'test' else opt.phase}_"
        files = [path for path in list_files(opt.dataroot, "--dataroot") if tag in os.path.basename(path)]
        images = [path for path in files if path.lower().endswith(PHOTO_SUFFIX)]
        labels = [path for path in files if path.lower().endswith(LABEL_SUFFIX)]
        if not labels:
            raise UserError(f"--dataroot {opt.dataroot} holds no label files named *{tag}*{LABEL_SUFFIX}; point it at "
                            f"the ADEChallengeData2016 folder (holding images/ and annotations/).")
        return labels, images, []

    def largest_label_id(self) -> int:
        # ids 1..150 are stored unshifted, so with the dontcare channel id label_nc is valid (see module doc)
        return self.opt.label_nc - 1 + (1 if self.opt.contain_dontcare_label else 0)

    def precomputed_dist_path(self, label_path):
        label_folder = os.path.basename(os.path.dirname(label_path))
        return os.path.join(self.opt.dataroot, "distances", label_folder, stem(label_path) + ".npy")


class ADE20KOutdoorDataset(ADE20KDataset):
    """CLADE's outdoor subset of ADE20K: the same layout, flags and defaults."""
