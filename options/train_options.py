"""Training options (docs/reference.md §1.3)."""
from options.base_options import DEAD, BaseOptions


class TrainOptions(BaseOptions):
    is_train = True

    def initialize(self, parser):
        super().initialize(parser)
        display = parser.add_argument_group("display and saving")
        display.add_argument("--display_freq", type=int, default=100, help="save training pictures every N images")
        display.add_argument("--print_freq", type=int, default=100, help="print and log losses every N images")
        display.add_argument("--save_latest_freq", type=int, default=5000, help="save the latest checkpoint every N images")
        display.add_argument("--save_epoch_freq", type=int, default=10, help="save checkpoints at the end of every N epochs")
        display.add_argument("--no_html", action="store_true",
                             help="do not save training pictures to [checkpoints_dir]/[name]/web/")
        display.add_argument("--debug", action="store_true", help=DEAD)
        display.add_argument("--tf_log", action="store_true",
                             help="write TensorBoard logs to [checkpoints_dir]/[name]/logs (no TensorFlow needed)")

        run = parser.add_argument_group("run")
        run.add_argument("--continue_train", action="store_true",
                         help="resume the run --name from its saved state and options")
        run.add_argument("--start_over", action="store_true",
                         help="start the run --name afresh although it holds checkpoints (they are overwritten)")
        run.add_argument("--which_epoch", type=str, default="latest", help="which checkpoint to resume from")
        run.add_argument("--niter", type=int, default=50, help="# epochs at the initial learning rate")
        run.add_argument("--niter_decay", type=int, default=0, help="# epochs of linear decay of the learning rate to zero")
        run.add_argument("--optimizer", type=str, default="adam", help=DEAD + " Adam is always used")
        run.add_argument("--beta1", type=float, default=None, help="Adam beta1 (0.5 with --no_TTUR)")
        run.add_argument("--beta2", type=float, default=None, help="Adam beta2 (0.999 with --no_TTUR)")
        run.add_argument("--no_TTUR", action="store_true",
                         help="do not use the two time-scale update rule (G lr/2, D lr*2)")
        run.add_argument("--results_dir", type=str, default="./results/",
                         help=DEAD + " CLADE wrote its FID pictures there; --train_eval writes none")
        run.add_argument("--lr", type=float, default=0.0002, help="initial Adam learning rate")
        run.add_argument("--D_steps_per_G", type=int, default=1, help="discriminator iterations per generator iteration")

        losses = parser.add_argument_group("discriminator and losses")
        losses.add_argument("--ndf", type=int, default=64, help="# discriminator filters in the first conv layer")
        losses.add_argument("--lambda_feat", type=float, default=10.0, help="weight of the feature matching loss")
        losses.add_argument("--lambda_vgg", type=float, default=10.0, help="weight of the VGG loss")
        losses.add_argument("--no_ganFeat_loss", action="store_true", help="no discriminator feature matching loss")
        losses.add_argument("--no_vgg_loss", action="store_true", help="no VGG perceptual loss")
        losses.add_argument("--gan_mode", type=str, default="hinge", choices=("ls", "original", "hinge", "w"),
                            help="adversarial loss: hinge (SPADE), ls (least squares), original (cross-entropy), "
                                 "w (Wasserstein)")
        losses.add_argument("--netD", type=str, default="multiscale", help="discriminator: multiscale or n_layer")
        losses.add_argument("--lambda_kld", type=float, default=0.05, help="weight of the KL divergence (--use_vae)")

        evaluation = parser.add_argument_group("evaluation (--train_eval) and weight averaging")
        evaluation.add_argument("--eval_real_stats", type=str, default="",
                                help="FID statistics (.npz with mu, sigma) of the real validation images; default: "
                                     "computed once and cached as [checkpoints_dir]/[name]/fid_real_stats_[dims].npz")
        evaluation.add_argument("--val_label_dir", type=str, default="",
                                help="--dataset_mode custom: label maps of the validation set (default: the training "
                                     "set's, so FID measures the training images)")
        evaluation.add_argument("--val_image_dir", type=str, default="",
                                help="--dataset_mode custom: photos of the validation set")
        evaluation.add_argument("--val_instance_dir", type=str, default="",
                                help="--dataset_mode custom: instance maps of the validation set")
        evaluation.add_argument("--ema_decay", type=float, default=0.0,
                                help="keep an exponential moving average of G's weights with this decay (e.g. "
                                     "0.999), saved as *_net_G_ema.pth and used for FID; 0: off")
        evaluation.add_argument("--ema_bn_batches", type=int, default=20,
                                help="training batches that measure the batch-norm statistics of the averaged G "
                                     "before it is evaluated or saved")
        return parser

    def add_dependent_defaults(self, parser, current_options):
        # the reference resolves the Adam betas from --no_TTUR while building the parser (docs/reference.md §1.3)
        options = current_options()
        parser.set_defaults(beta1=0.5 if options.no_TTUR else 0.0, beta2=0.999 if options.no_TTUR else 0.9)
        if options.norm_mode == "sean":
            parser.set_defaults(niter_decay=50)  # SEAN's default (SPADE's is 0)
