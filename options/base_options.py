"""Options shared by training and testing (docs/reference.md §1.2), and the assembly of the whole option set.

The set is assembled as in the reference (docs/reference.md §1.1): the base flags, then flags that the
chosen networks and dataset mode add (hooks), then a strict parse. Values can also come from a YAML
``--config`` file and, when a run is resumed, from the options saved with it; the command line
always wins: command line > config file > saved run options > defaults.
"""
import argparse
import sys

import torch

import data
import models
from options.command_line import closest_flag, group_by_topic, new_parser
from options.persistence import load_config, restored_run_options
from util.errors import UserError

DEAD = "(accepted for compatibility with the reference commands; does nothing)"
PREPROCESS_MODES = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "scale_shortside",
                    "scale_shortside_and_crop", "fixed", "none")


class BaseOptions:
    is_train = False

    def initialize(self, parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        basic = parser.add_argument_group("experiment")
        basic.add_argument("--name", type=str, default="label2coco",
                           help="name of the experiment: decides where samples and models are stored")
        basic.add_argument("--gpu_ids", type=str, default="0", help="gpu ids, e.g. 0  0,1,2  0,2; -1 for the CPU")
        basic.add_argument("--dist_timeout", type=int, default=1800,
                           help="seconds a process waits for the others (e.g. while process 0 alone evaluates FID) "
                                "before the run stops with an error")
        basic.add_argument("--checkpoints_dir", type=str, default="./checkpoints", help="models are saved here")
        basic.add_argument("--model", type=str, default="pix2pix", choices=("pix2pix",), help="which model to use")
        basic.add_argument("--norm_G", type=str, default="spectralinstance", help="generator norm, e.g. spectralspadesyncbatch3x3")
        basic.add_argument("--norm_D", type=str, default="spectralinstance", help="discriminator norm")
        basic.add_argument("--norm_E", type=str, default="spectralinstance", help="encoder norm")
        basic.add_argument("--phase", type=str, default="train", help="train, val, test, etc")
        basic.add_argument("--config", type=str, default="", help="YAML file of option values; command-line flags override it")
        basic.add_argument("--seed", type=int, default=0, help="seed of every random number generator of the run")

        sizes = parser.add_argument_group("input/output sizes")
        sizes.add_argument("--batchSize", type=int, default=1, help="input batch size")
        sizes.add_argument("--preprocess_mode", type=str, default="scale_width_and_crop", choices=PREPROCESS_MODES,
                           help="scaling and cropping of images at load time")
        sizes.add_argument("--load_size", type=int, default=1024,
                           help="scale images to this size; the final image is then cropped to --crop_size")
        sizes.add_argument("--crop_size", type=int, default=512,
                           help="crop to this size; also the generator's output width")
        sizes.add_argument("--aspect_ratio", type=float, default=1.0,
                           help="width/height of the generated image; height = crop_size / aspect_ratio")
        sizes.add_argument("--label_nc", type=int, default=182, help="# label classes, without the dontcare class")
        sizes.add_argument("--contain_dontcare_label", action="store_true",
                           help="the label maps contain a dontcare label (id 255), mapped to class label_nc")
        sizes.add_argument("--output_nc", type=int, default=3, help="# output image channels")

        loading = parser.add_argument_group("data loading")
        loading.add_argument("--dataroot", type=str, default="./datasets/cityscapes/",
                             help="root folder of a dataset in the reference's layout (all modes but custom)")
        loading.add_argument("--dataset_mode", type=str, default="coco", help="which dataset mode: " + ", ".join(data.DATASET_MODES))
        loading.add_argument("--serial_batches", action="store_true", help="take images in order, else shuffle")
        loading.add_argument("--no_flip", action="store_true", help="no horizontal-flip augmentation")
        loading.add_argument("--nThreads", type=int, default=0, help="# data loading worker processes")
        loading.add_argument("--max_dataset_size", type=int, default=sys.maxsize,
                             help="use at most this many samples (after natural sort; default: all)")
        loading.add_argument("--load_from_opt_file", action="store_true",
                             help="take the options saved in the run folder as defaults (test.py: the architecture)")
        loading.add_argument("--cache_filelist_write", action="store_true", help=DEAD)
        loading.add_argument("--cache_filelist_read", action="store_true", help=DEAD)
        loading.add_argument("--display_winsize", type=int, default=400, help="width of the pictures on the HTML pages")

        generator = parser.add_argument_group("generator")
        generator.add_argument("--netG", type=str, default="spade", help="generator architecture: spade")
        generator.add_argument("--ngf", type=int, default=64, help="# generator filters in the last conv layer")
        generator.add_argument("--init_type", type=str, default="xavier",
                               choices=("normal", "xavier", "xavier_uniform", "kaiming", "orthogonal", "none"),
                               help="network initialization")
        generator.add_argument("--init_variance", type=float, default=0.02, help="std / gain of the initialization")
        generator.add_argument("--z_dim", type=int, default=256, help="dimension of the latent z vector")
        generator.add_argument("--no_instance", action="store_true", help="do not add the instance edge map as input")
        generator.add_argument("--nef", type=int, default=16, help=DEAD + " the encoder's width is --ngf")
        generator.add_argument("--use_vae", action="store_true", help="enable training with an image encoder")

        clade = parser.add_argument_group("CLADE")
        clade.add_argument("--norm_mode", type=str, default="spade", choices=("spade", "clade", "sean"),
                           help="spade: conv-predicted modulation; clade: class-adaptive modulation; "
                                "sean: per-region style codes from the photo (SEAN)")
        clade.add_argument("--add_dist", action="store_true", help="use the intra-class positional encoding map (CLADE-ICPE)")
        clade.add_argument("--dist_alignment", type=str, default="label", choices=("label", "clade"),
                           help="--add_dist maps resized to --load_size: 'label' picks the pixels the label's resize "
                                "picks; 'clade' picks them as CLADE's code does (up to one source pixel off), to "
                                "reproduce a CLADE-ICPE checkpoint's pictures (docs/reference.md §2.4)")
        clade.add_argument("--use_amp", action="store_true", help="mixed precision (autocast; fp16 adds gradient scaling)")
        clade.add_argument("--train_eval", action="store_true", help="compute FID during training")
        clade.add_argument("--eval_dims", type=int, default=2048, choices=(64, 192, 768, 2048),
                           help="dimensionality of the Inception features used for FID")
        clade.add_argument("--eval_epoch_freq", type=int, default=10, help="compute FID every N epochs")
        clade.add_argument("--fid_weights", type=str, default="",
                           help="local FID Inception weights (pt_inception-2015-12-05-6726825d.pth); "
                                "default: torch hub's cache, downloading there if needed")

        speed = parser.add_argument_group("performance")
        speed.add_argument("--amp_dtype", type=str, default="auto", choices=("auto", "bf16", "fp16"),
                           help="--use_amp precision: auto is fp16 on GPUs (as CLADE), bf16 on the CPU")
        speed.add_argument("--memory_format", type=str, default="auto", choices=("auto", "channels_last", "contiguous"),
                           help="layout of the networks' weights and activations: auto is channels_last on the CPU "
                                "(faster there, same numbers to float rounding) and contiguous on GPUs")
        speed.add_argument("--compile", action="store_true", help="torch.compile the networks")
        return parser

    def add_dependent_defaults(self, parser, current_options) -> None:
        """Defaults that depend on other flags (train options override this)."""

    def _new_parser(self) -> argparse.ArgumentParser:
        return self.initialize(new_parser())

    def assemble(self, argv: list[str], layered: dict) -> argparse.ArgumentParser:
        """Build the full parser: base flags, network and dataset hooks, layered defaults on top."""
        parser = self._new_parser()

        def current_options():
            parser.set_defaults(**_known(parser, layered))
            return parser.parse_known_args(argv)[0]

        models.modify_commandline_options(parser, self.is_train, current_options)
        data.modify_commandline_options(parser, self.is_train, current_options)
        self.add_dependent_defaults(parser, current_options)
        parser.set_defaults(**_known(parser, layered))
        mode = current_options().dataset_mode
        # --help only now: it lists the flags and defaults of the chosen networks and dataset mode
        parser.add_argument("-h", "--help", action="help", help="show this message and exit")
        parser.description = (f"The flags and defaults of --dataset_mode {mode}; another --dataset_mode, --netG or "
                              f"--netD adds or changes some: give it before --help to see them.")
        group_by_topic(parser)
        return parser

    def parse(self, argv: list[str] | None = None) -> argparse.Namespace:
        """Parse the command line into the resolved options.

        Returns the options with derived fields (``isTrain``, ``semantic_nc``, ``gpu_ids`` as a
        list, ``device``); ``self.saved_fields`` and ``self.defaults`` keep what ``opt.txt`` shows,
        ``self.restored`` what was taken from the run folder (``--continue_train``, ``--load_from_opt_file``).
        """
        argv = sys.argv[1:] if argv is None else [str(arg) for arg in argv]
        first = self._new_parser().parse_known_args(argv)[0]
        config = load_config(first.config) if first.config else {}
        layered = self.layered_defaults(first, config)
        _validate_layered(self._new_parser(), layered)  # the hooks parse with these values: check them first
        parser = self.assemble(argv, layered)
        self._refuse_unknown_config_keys(config, parser, first.config)
        _validate_layered(parser, layered)
        opt = parser.parse_args(argv)
        opt.isTrain = self.is_train

        selection = {k: getattr(opt, k) for k in ("netG", "netD", "netD_subarch", "dataset_mode") if hasattr(opt, k)}
        # the defaults opt.txt compares against: the same hooks, no config or saved values
        clean = self.assemble(argv, selection)
        self.defaults = {action.dest: clean.get_default(action.dest) for action in clean._actions}
        base = self._new_parser()
        self.defaults.update({k: base.get_default(k) for k in selection if base.get_default(k) is not None})
        self.saved_fields = dict(vars(opt))
        return finalize(opt)

    def layered_defaults(self, first: argparse.Namespace, config: dict) -> dict:
        """Values from the saved run options and the ``--config`` file, lowest priority first."""
        layered = {}
        self.restored = {}
        if first.load_from_opt_file or getattr(first, "continue_train", False):
            self.restored = restored_run_options(first.checkpoints_dir, first.name, self.is_train)
            layered.update(self.restored)
        layered.update(config)
        return layered

    def _refuse_unknown_config_keys(self, config: dict, parser: argparse.ArgumentParser, path: str) -> None:
        """A config key that is no option of this script is an error: a typo would otherwise train with a default."""
        known = {action.dest for action in parser._actions}
        for key in config:
            if key in known:
                continue
            script = "train.py" if self.is_train else "test.py"
            modes = [mode for mode in data.DATASET_MODES if key in self._options_with(dataset_mode=mode)]
            if modes:
                raise UserError(f"--config {path}: '{key}' only applies to --dataset_mode {' or '.join(modes)}; "
                                f"remove it or set the dataset mode it belongs to.")
            if key in self._other_script_options():
                raise UserError(f"--config {path}: '{key}' is an option of "
                                f"{'test.py' if self.is_train else 'train.py'}, not of {script}; remove it from "
                                f"this file (keep one config file per script).")
            closest = closest_flag(key, sorted(known))
            hint = f" (did you mean {closest}?)" if closest else ""
            raise UserError(f"--config {path}: '{key}' is no option of {script}{hint}; fix or remove the key "
                            f"(python {script} --help lists the options).")

    def _other_script_options(self) -> set[str]:
        from options.test_options import TestOptions
        from options.train_options import TrainOptions

        other = TestOptions() if self.is_train else TrainOptions()
        return set().union(*(other._options_with(dataset_mode=mode) for mode in data.DATASET_MODES))

    def _options_with(self, **selection) -> set[str]:
        """The option names of this script when the hooks see ``selection`` (e.g. another dataset mode)."""
        return {action.dest for action in self.assemble([], selection)._actions}


def _known(parser: argparse.ArgumentParser, values: dict) -> dict:
    dests = {action.dest for action in parser._actions}
    return {k: v for k, v in values.items() if k in dests}


# the Python types a value from a YAML file may have for a flag of each argparse type
ACCEPTED_TYPES = {int: (int,), float: (int, float), str: (str, int, float)}


def _validate_layered(parser: argparse.ArgumentParser, layered: dict) -> None:
    """Values from files do not pass argparse's type conversion: check their types and choices here."""
    for action in parser._actions:
        value = layered.get(action.dest)
        if value is None:
            continue
        source = "(from the config or saved run options)"
        is_switch = isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction))
        accepted = (bool,) if is_switch else ACCEPTED_TYPES.get(action.type)
        if accepted and (not isinstance(value, accepted) or (isinstance(value, bool) and not is_switch)):
            kind = "true or false" if is_switch else f"of type {action.type.__name__}"
            raise UserError(f"option {action.dest}: {value!r} {source} is not {kind}; fix the value.")
        if action.choices is not None and value not in action.choices:
            raise UserError(f"option {action.dest}: {value!r} {source} is not one of "
                            f"{', '.join(map(str, action.choices))}; fix the value.")


def finalize(opt: argparse.Namespace) -> argparse.Namespace:
    """Derived fields: the semantic channel count, the GPU list, the torch device and the memory layout."""
    opt.semantic_nc = opt.label_nc + (1 if opt.contain_dontcare_label else 0) + (0 if opt.no_instance else 1)
    if opt.norm_mode == "sean" and (opt.use_vae or opt.add_dist):
        flag = "--use_vae" if opt.use_vae else "--add_dist"
        raise UserError(f"{flag} does not apply to --norm_mode sean (SEAN takes its style codes from the photo); "
                        f"drop {flag}.")
    opt.gpu_ids = parse_gpu_ids(str(opt.gpu_ids))
    if opt.gpu_ids and not torch.cuda.is_available():
        print(f"warning: --gpu_ids {','.join(map(str, opt.gpu_ids))} asks for a GPU but CUDA is not available; "
              f"running on the CPU (pass --gpu_ids -1 to silence this).")
        opt.gpu_ids = []
    if opt.gpu_ids:
        torch.cuda.set_device(opt.gpu_ids[0])
    opt.device = f"cuda:{opt.gpu_ids[0]}" if opt.gpu_ids else "cpu"
    opt.channels_last = opt.memory_format == "channels_last" or (opt.memory_format == "auto" and opt.device == "cpu")
    if opt.batchSize < 1:
        raise UserError(f"--batchSize {opt.batchSize} must be at least 1.")
    if opt.gpu_ids and opt.batchSize % len(opt.gpu_ids):
        raise UserError(f"--batchSize {opt.batchSize} must be a multiple of the number of GPUs ({len(opt.gpu_ids)}).")
    return opt


def parse_gpu_ids(text: str) -> list[int]:
    try:
        ids = [int(part) for part in text.split(",") if part.strip() != ""]
    except ValueError:
        raise UserError(f"--gpu_ids '{text}' is not a comma-separated list of integers; use e.g. 0 or 0,1 or -1 for the CPU.")
    return [i for i in ids if i >= 0]
