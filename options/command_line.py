"""How the command line talks back: ``--help`` grouped by topic, one-line errors with the closest flag.

The flags are declared where the reference declares them (base, train and test options, and the
hooks of the networks and dataset modes); ``--help`` regroups them by what they are for, so a
flag added by ``--dataset_mode custom`` appears next to the other data flags.
"""
import argparse
import difflib
import sys

DEAD_MARKER = "does nothing"

# topic: (title, flags in the order shown); a flag whose help says it does nothing goes to "compatibility"
TOPICS = {
    "run": ("run: which run, where, from which state",
            ("help", "name", "checkpoints_dir", "config", "continue_train", "start_over", "which_epoch",
             "load_from_opt_file", "results_dir", "phase", "how_many", "seed", "gpu_ids", "dist_timeout", "model")),
    "data": ("data: where the samples are and how they are read",
             ("dataset_mode", "dataroot", "label_dir", "image_dir", "instance_dir", "dist_dir", "label_nc",
              "contain_dontcare_label", "no_instance", "preprocess_mode", "load_size", "crop_size", "aspect_ratio",
              "no_flip", "serial_batches", "max_dataset_size", "coco_no_portraits", "no_pairing_check",
              "no_validation")),
    "model": ("model: the networks (must match a checkpoint to load it)",
              ("netG", "ngf", "norm_G", "norm_mode", "add_dist", "dist_alignment", "num_upsampling_layers", "use_vae",
               "z_dim", "style_length", "norm_E", "output_nc", "netD", "ndf", "norm_D", "netD_subarch", "num_D", "n_layers_D", "init_type",
               "init_variance")),
    "training": ("training: batch, schedule, optimiser, losses, weight averaging",
                 ("batchSize", "niter", "niter_decay", "lr", "beta1", "beta2", "no_TTUR", "D_steps_per_G",
                  "gan_mode", "no_ganFeat_loss", "lambda_feat", "no_vgg_loss", "lambda_vgg", "vgg_weights",
                  "vgg_imagenet_norm", "lambda_kld", "ema_decay", "ema_bn_batches", "save_latest_freq",
                  "save_epoch_freq")),
    "logging": ("logging: loss lines, TensorBoard, sample pages",
                ("print_freq", "display_freq", "tf_log", "no_html", "display_winsize")),
    "evaluation": ("evaluation: FID during training and testing, reconstruction metrics, style codes",
                   ("train_eval", "eval_epoch_freq", "eval_dims", "fid_weights", "eval_real_stats", "val_label_dir",
                    "val_image_dir", "val_instance_dir", "compute_fid", "compute_recon_metrics", "save_style_codes",
                    "use_ema")),
    "speed": ("speed: precision, memory layout, compilation, loader processes",
              ("use_amp", "amp_dtype", "memory_format", "compile", "nThreads")),
    "compatibility": ("compatibility: accepted so that reference commands run; they do nothing", ()),
}


class FlagHelpFormatter(argparse.HelpFormatter):
    """Shows the default after the help line, except where it says nothing (off switches, empty values)."""

    def _get_help_string(self, action):
        text = action.help or ""
        quiet = action.nargs == 0 or action.default is None or action.default in ("", argparse.SUPPRESS, sys.maxsize)
        return text if quiet or "%(default)" in text else f"{text} (default: %(default)s)"


class FlagParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line; an unknown flag is answered with the closest known one."""

    def error(self, message):
        if message.startswith("unrecognized arguments: "):
            message = "; ".join(self._unknown_flag_hint(word) for word in message.split(": ", 1)[1].split()
                                if word.startswith("-")) or message
        self.exit(2, f"error: {message}; `{self.prog} --help` lists every flag.\n")

    def _unknown_flag_hint(self, word: str) -> str:
        flag = word.split("=", 1)[0]
        known = [option for action in self._actions for option in action.option_strings]
        closest = closest_flag(flag, known)
        return f"unknown flag {flag}" + (f" (did you mean {closest}?)" if closest else "")


def closest_flag(word: str, flags: list[str]) -> str | None:
    """The flag most like ``word`` (case ignored), or None when none is close."""
    by_lower = {flag.lower(): flag for flag in flags}
    matches = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[matches[0]] if matches else None


def new_parser(description: str = "") -> FlagParser:
    return FlagParser(prog=_program_name(), usage="%(prog)s [flags]", description=description, add_help=False,
                      formatter_class=FlagHelpFormatter)


def group_by_topic(parser: argparse.ArgumentParser) -> None:
    """Rebuild the parser's help groups by topic (parsing does not depend on groups)."""
    topic_of = {flag: topic for topic, (_, flags) in TOPICS.items() for flag in flags}
    groups = {topic: parser.add_argument_group(title) for topic, (title, _) in TOPICS.items()}
    placed = {topic: [] for topic in TOPICS}
    for action in parser._actions:
        dead = DEAD_MARKER in (action.help or "")
        placed["compatibility" if dead else topic_of.get(action.dest, "run")].append(action)
    order = {flag: index for _, flags in TOPICS.values() for index, flag in enumerate(flags)}
    for topic, actions in placed.items():
        groups[topic]._group_actions.extend(sorted(actions, key=lambda a: order.get(a.dest, len(order))))
    parser._action_groups = [groups[topic] for topic in TOPICS if placed[topic]]


def _program_name() -> str:
    from pathlib import Path

    return Path(sys.argv[0]).name or "train.py"
