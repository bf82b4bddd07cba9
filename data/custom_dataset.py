"""The ``custom`` dataset mode: label, image and instance folders given by flags (docs/reference.md §8.3)."""
import os

from data.image_folder import list_files, stem
from data.pix2pix_dataset import Pix2pixDataset
from util.errors import UserError


class CustomDataset(Pix2pixDataset):
    @staticmethod
    def modify_commandline_options(parser, is_train):
        parser = Pix2pixDataset.modify_commandline_options(parser, is_train)
        parser.set_defaults(preprocess_mode="resize_and_crop", load_size=286 if is_train else 256, crop_size=256,
                            display_winsize=256, label_nc=13, contain_dontcare_label=False)
        parser.add_argument("--label_dir", type=str, default=None, help="folder of label maps (class-id images)")
        parser.add_argument("--image_dir", type=str, default=None, help="folder of photos")
        parser.add_argument("--instance_dir", type=str, default="",
                            help="folder of instance maps; leave empty and pass --no_instance if there are none")
        parser.add_argument("--dist_dir", type=str, default="",
                            help="folder of precomputed positional maps <stem>.npy for --add_dist "
                                 "(scripts/compute_dist_maps.py); default: the dist/ folder beside --label_dir "
                                 "where it has a file, else computed on the fly")
        return parser

    def get_paths(self, opt):
        for flag, folder in (("--label_dir", opt.label_dir), ("--image_dir", opt.image_dir)):
            if not folder:
                raise UserError(f"{flag} is required with --dataset_mode custom; give the folder of "
                                f"{'label maps' if flag == '--label_dir' else 'photos'}.")
        if opt.add_dist and opt.dist_dir and not os.path.isdir(opt.dist_dir):
            raise UserError(f"--dist_dir {opt.dist_dir} is not a folder; give the folder that "
                            f"scripts/compute_dist_maps.py wrote, or leave --dist_dir out to compute the maps on the fly.")
        label_paths = list_files(opt.label_dir, "--label_dir")
        image_paths = list_files(opt.image_dir, "--image_dir")
        instance_paths = []
        if not opt.no_instance:
            if not opt.instance_dir:
                raise UserError("--instance_dir is empty but instance maps are used; give the folder of instance "
                                "maps, or pass --no_instance.")
            instance_paths = list_files(opt.instance_dir, "--instance_dir")
        return label_paths, image_paths, instance_paths

    def precomputed_dist_path(self, label_path):
        # where scripts/compute_dist_maps.py writes by default: <label_dir>/../dist
        folder = self.opt.dist_dir or os.path.join(os.path.dirname(os.path.normpath(self.opt.label_dir)), "dist")
        return os.path.join(folder, stem(label_path) + ".npy")
