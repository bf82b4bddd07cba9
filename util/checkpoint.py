"""Network checkpoints in the reference's layout: ``<checkpoints_dir>/<name>/<which>_net_<G|D|E>.pth``.

Files hold a bare ``state_dict`` on the CPU (no ``module.`` prefix), as the reference writes them
(docs/reference.md §3, §5.4), so checkpoints move freely between this project and the reference code.
"""
from pathlib import Path

import torch
import torch.nn as nn

from util.errors import UserError
from util.files import atomic_torch_save


def run_folder(opt) -> Path:
    return Path(opt.checkpoints_dir) / opt.name


def network_file(which: str, label: str) -> str:
    return f"{which}_net_{label}.pth"


def network_path(opt, which: str, label: str) -> Path:
    return run_folder(opt) / network_file(which, label)


def cpu_state_dict(network: nn.Module) -> dict:
    """The weights as saved: a copy of the state_dict on the CPU."""
    return {key: value.detach().cpu().clone() for key, value in network.state_dict().items()}


def save_network(network: nn.Module, label: str, which: str, opt) -> Path:
    """Save one network's weights atomically (training saves whole sets: ``util/checkpoint_set.py``)."""
    path = network_path(opt, which, label)
    atomic_torch_save(cpu_state_dict(network), path)
    return path


def load_network(network: nn.Module, label: str, which: str, opt) -> nn.Module:
    """Load ``<which>_net_<label>.pth`` strictly, explaining a missing file or a mismatch in one sentence."""
    path = network_path(opt, which, label)
    if not path.is_file():
        available = sorted({p.name.split("_net_")[0] for p in path.parent.glob(f"*_net_{label}.pth")})
        found = f"the folder has: {', '.join(available)}" if available else "the folder holds no such checkpoints"
        raise UserError(f"checkpoint file {path} does not exist ({found}); check --name, --checkpoints_dir and "
                        f"--which_epoch.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise UserError(f"checkpoint file {path} cannot be read ({type(error).__name__}); it is damaged or not a "
                        f"PyTorch state_dict, so restore it or pick another --which_epoch.") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"checkpoint file {path} holds a {type(state).__name__}, not a network's state_dict; restore "
                        f"it or pick another --which_epoch.")
    expected = {k: tuple(v.shape) for k, v in network.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if expected != found:
        raise UserError(f"checkpoint file {path} does not fit the network built from the flags: "
                        f"{mismatch_description(expected, found)}{saved_values_hint(expected, found, opt)}")
    network.load_state_dict(state, strict=True)
    return network


def mismatch_description(expected: dict, found: dict) -> str:
    """Which keys or shapes differ, and which flags most likely differ from the run that saved the file."""
    if _is_sean(found) != _is_sean(expected):
        return ("it is a SEAN checkpoint (keys Zencoder.*, *.ace_0.*): add --norm_mode sean." if _is_sean(found) else
                "it is not a SEAN checkpoint (no Zencoder.* or *.ace_0.* keys): drop --norm_mode sean or pick the "
                "run that was trained with it.")
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    reshaped = [k for k in expected if k in found and expected[k] != found[k]]
    if missing or unexpected:
        key = (missing or unexpected)[0]
        what = (f"{len(missing)} keys missing (e.g. {key})" if missing else f"{len(unexpected)} unexpected keys (e.g. {key})")
    else:
        key = reshaped[0]
        what = f"{key} has shape {list(found[key])} in the file but {list(expected[key])} here"
    return f"{what}; the flags that likely differ: {', '.join(likely_flags(expected, found))}."


def _is_sean(keys) -> bool:
    return any(k.startswith("Zencoder.") or ".ace_0." in k for k in keys)


# key fragments that only some flag settings create, and the flag that decides them
KEY_FLAGS = (("class_specified_affine", "--norm_mode"), ("mlp_shared", "--norm_mode"), ("dist_conv", "--add_dist"),
             ("inst_conv", "--no_instance"), ("up_4.", "--num_upsampling_layers"), ("param_free_norm", "--norm_G"),
             ("weight_orig", "--norm_G / --norm_D / --norm_E"), ("discriminator_", "--num_D"),
             ("layer6", "--crop_size"))


def likely_flags(expected: dict, found: dict) -> list[str]:
    """Flags whose values would explain the differences between two ``{key: shape}`` maps."""
    differing_keys = set(expected) ^ set(found)
    reshaped = {k for k in expected if k in found and expected[k] != found[k]}
    flags = [flag for fragment, flag in KEY_FLAGS if any(fragment in k for k in differing_keys)]
    if "fc.weight" in reshaped and len(expected["fc.weight"]) != len(found["fc.weight"]):
        flags.append("--use_vae")
    elif any(k.endswith(("fc.weight", "mlp_shared.0.weight", "class_specified_affine.weight", "model0.0.weight"))
             for k in reshaped):
        flags.append("--label_nc / --contain_dontcare_label / --no_instance")
    if any(k.startswith(("head_0", "up_", "G_middle", "conv_img", "discriminator_", "layer")) for k in reshaped):
        flags.append("--ngf / --ndf")
    if not differing_keys and "fc.bias" in reshaped:
        flags.append("--crop_size / --aspect_ratio")
    if differing_keys and not flags:
        flags.append("--n_layers_D / --netG / --netD")
    return list(dict.fromkeys(flags)) or ["--ngf / --ndf"]


def saved_values_hint(expected: dict, found: dict, opt) -> str:
    """What the run's saved options say about the likely flags, e.g. `` The run was saved with --ngf 16 ...``."""
    from options.persistence import saved_run_values  # here: options import util at start-up

    saved = saved_run_values(run_folder(opt))
    names = [flag.lstrip("-") for flags in likely_flags(expected, found) for flag in flags.split(" / ")]
    differing = [name for name in names if name in saved and getattr(opt, name, saved[name]) != saved[name]]
    if not differing:
        return ""
    settings = ", ".join(f"{flag_setting(name, saved[name])} where this command has "
                         f"{flag_setting(name, getattr(opt, name))}" for name in differing)
    fixes = " ".join(f"--{name}" + ("" if saved[name] is True else f" {saved[name]}") for name in differing
                     if saved[name] is not False)
    dropped = " ".join(f"--{name}" for name in differing if saved[name] is False)
    fix = " and ".join(part for part in (fixes and f"pass {fixes}", dropped and f"leave out {dropped}") if part)
    return f" The run was saved with {settings}: {fix}, or pass --load_from_opt_file to take the run's architecture."


def flag_setting(name: str, value) -> str:
    """A value as the command line gives it: ``--ngf 16``, ``--no_instance``, ``no --no_instance``."""
    if isinstance(value, bool):
        return f"--{name}" if value else f"no --{name}"
    return f"--{name} {value}"
