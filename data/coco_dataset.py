"""The ``coco`` dataset mode: COCO-Stuff as SPADE lays it out (docs/reference.md §1.5, §8.5).

    <dataroot>/<phase>_label/*.png   class ids 0..181, 255 = unknown (the dontcare class)
    <dataroot>/<phase>_img/*.jpg     photos
    <dataroot>/<phase>_inst/*.png    instance maps (unless --no_instance)
    <dataroot>/<phase>_dist/*.npy    CLADE-ICPE maps (optional, --add_dist)

``<phase>`` is ``val`` for ``--phase test``. When training, ``<phase>_label_portrait``,
``_img_portrait`` and ``_inst_portrait`` folders are added where they exist (``--coco_no_portraits``
leaves them out).
"""
import os

from data.image_folder import list_files, natural_key, stem
from data.pix2pix_dataset import Pix2pixDataset, dataroot_folder

LAYOUT = "the COCO-Stuff folder holding <phase>_label/, <phase>_img/ and <phase>_inst/"


class CocoDataset(Pix2pixDataset):
    @staticmethod
    def modify_commandline_options(parser, is_train):
        parser = Pix2pixDataset.modify_commandline_options(parser, is_train)
        parser.add_argument("--coco_no_portraits", action="store_true",
                            help="do not add the *_portrait folders when training")
        parser.set_defaults(preprocess_mode="resize_and_crop", load_size=286 if is_train else 256, crop_size=256,
                            display_winsize=256, label_nc=182, contain_dontcare_label=True,
                            cache_filelist_read=True, cache_filelist_write=True)
        return parser

    def phase(self) -> str:
        return "val" if self.opt.phase == "test" else self.opt.phase

    def get_paths(self, opt):
        labels = self._files("label", "--dataroot")
        images = self._files("img", "--dataroot")
        instances = [] if opt.no_instance else self._files("inst", "--dataroot")
        return labels, images, instances

    def _files(self, kind: str, flag: str) -> list[str]:
        """``<phase>_<kind>`` files, plus ``<phase>_<kind>_portrait`` ones when training, in natural order."""
        folder = f"{self.phase()}_{kind}"
        paths = list_files(dataroot_folder(self.opt, folder, layout=LAYOUT), flag)
        portraits = os.path.join(self.opt.dataroot, f"{folder}_portrait")
        if self.opt.isTrain and not self.opt.coco_no_portraits and os.path.isdir(portraits):
            paths = sorted(paths + list_files(portraits, flag), key=natural_key)
        return paths

    def precomputed_dist_path(self, label_path):
        return os.path.join(self.opt.dataroot, f"{self.phase()}_dist", stem(label_path) + ".npy")
