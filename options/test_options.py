"""Test options (docs/reference.md §1.4)."""
from options.base_options import BaseOptions


class TestOptions(BaseOptions):
    is_train = False

    def initialize(self, parser):
        super().initialize(parser)
        parser.add_argument("--results_dir", type=str, default="./results/", help="saves results here")
        parser.add_argument("--which_epoch", type=str, default="latest", help="which checkpoint to load")
        parser.add_argument("--how_many", type=int, default=float("inf"), help="how many test images to run")
        parser.add_argument("--use_ema", action="store_true",
                            help="generate with the averaged weights [which_epoch]_net_G_ema.pth (--ema_decay)")
        parser.add_argument("--compute_fid", action="store_true",
                            help="also compute the FID of the pictures against the real images of the same "
                                 "samples; appended to [results_dir]/[name]/[phase]_[which_epoch]/fid.txt")
        parser.add_argument("--save_style_codes", action="store_true",
                            help="--norm_mode sean: write each image's per-class style codes to "
                                 "[results_dir]/[name]/[phase]_[which_epoch]/style_codes/<image>/<class>/ACE.npy")
        parser.add_argument("--compute_recon_metrics", action="store_true",
                            help="also compute SSIM, PSNR and RMSE of the pictures against the real images; "
                                 "appended to [results_dir]/[name]/[phase]_[which_epoch]/recon_metrics.txt")
        parser.set_defaults(preprocess_mode="scale_width_and_crop", crop_size=256, load_size=256,
                            display_winsize=256, serial_batches=True, no_flip=True, phase="test")
        return parser
