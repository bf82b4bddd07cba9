"""The ``custom`` dataset mode: label, image and instance folders given by flags (INVENTORY §8.3)."""
from data.image_folder import list_files
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
        return parser

    def get_paths(self, opt):
        for flag, folder in (("--label_dir", opt.label_dir), ("--image_dir", opt.image_dir)):
            if not folder:
                raise UserError(f"{flag} is required with --dataset_mode custom; give the folder of "
                                f"{'label maps' if flag == '--label_dir' else 'photos'}.")
        label_paths = list_files(opt.label_dir, "--label_dir")
        image_paths = list_files(opt.image_dir, "--image_dir")
        instance_paths = []
        if not opt.no_instance:
            if not opt.instance_dir:
                raise UserError("--instance_dir is empty but instance maps are used; give the folder of instance "
                                "maps, or pass --no_instance.")
            instance_paths = list_files(opt.instance_dir, "--instance_dir")
        return label_paths, image_paths, instance_paths
