"""Make tests/fixtures/sean/ by running SEAN's own code (github.com/ZPdesu/SEAN) on the CPU.

Not run by the tests; run it by hand after one epoch of SEAN training (see tests/fixtures/README.md):

    PYTHONPATH=<SEAN>:<its extra packages> python tests/tools/make_sean_fixture.py --sean <SEAN checkout> \
        --trained <SEAN checkpoints>/sean_tiny --work /tmp/sean_fixture

Steps, all with SEAN's classes: load the trained generator; zero every ``noise_var`` (SEAN's test
noise is random); replace each large tensor by a seeded one (tests/sean_fixture.py), giving the
style encoder and the per-class layers scales at which they matter; measure batch-norm
statistics on the data; scale each style and SPADE modulation conv so its output has std 0.5,
and the last conv so the pictures span the value range; run SEAN's ``test.py`` on the result;
dump the state_dict keys of SEAN's networks at its default flags.
"""
import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
DATA64 = REPO / "tests" / "fixtures" / "reference" / "data64"
FLAGS = ["--gpu_ids", "-1", "--dataset_mode", "custom", "--label_nc", "19", "--no_instance", "--ngf", "8",
         "--load_size", "64", "--crop_size", "64", "--label_dir", str(DATA64 / "labels"),
         "--image_dir", str(DATA64 / "images")]
MODULATION_STD = 0.5
OUTPUT_STD = 1.0
NAME = "sean_tiny"


def load_helper():
    spec = importlib.util.spec_from_file_location("sean_fixture", REPO / "tests" / "sean_fixture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sean_options(argv, train=False):
    sys.argv = ["sean", *argv]
    if train:
        from options.train_options import TrainOptions
        return TrainOptions().parse()
    from options.test_options import TestOptions
    opt = TestOptions().parse()
    opt.status = "train"  # no style-code files while calibrating
    return opt


def calibrate_batch_norms(generator, semantics, image):
    """Running statistics = the statistics of one pass over all samples in one batch (momentum 1)."""
    norms = [m for m in generator.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = 1.0
    generator.train()
    with torch.no_grad():
        generator(semantics, image)
    for norm in norms:
        norm.momentum = 0.1


def output_stds(generator, modules, semantics, image, train):
    stds = {}
    hooks = [m.register_forward_hook(lambda mod, _, out, name=name: stds.__setitem__(name, float(out.std())))
             for name, m in modules.items()]
    generator.train(train)
    with torch.no_grad():
        generator(semantics, image)
    for hook in hooks:
        hook.remove()
    return stds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sean", required=True, type=Path, help="SEAN checkout (with the CPU patches)")
    parser.add_argument("--trained", required=True, type=Path, help="SEAN run folder after one epoch")
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "fixtures" / "sean", help="fixture folder")
    parser.add_argument("--flags", nargs=argparse.REMAINDER, default=[],
                        help="model flags after the default ones, as the run was trained (e.g. --ngf 16 --crop_size 128)")
    args = parser.parse_args()
    helper = load_helper()
    out = args.out
    flags = [*FLAGS, *args.flags]
    sys.path.insert(0, str(args.sean))
    import data
    from models.pix2pix_model import Pix2PixModel

    torch.manual_seed(0)
    run = args.work / "checkpoints" / NAME
    shutil.rmtree(args.work, ignore_errors=True)
    shutil.copytree(args.trained, run)
    opt = sean_options([*flags, "--name", NAME, "--checkpoints_dir", str(args.work / "checkpoints"), "--batchSize", "16"])
    model = Pix2PixModel(opt)
    generator = model.netG
    batch = next(iter(data.create_dataloader(opt)))
    semantics, image = model.preprocess_input(batch)

    state = generator.state_dict()
    for key in state:
        if key.endswith("noise_var"):
            state[key].zero_()
    _, seeded = helper.split_state(state)
    for entry in seeded:
        key, shape = entry[0], entry[1]
        if ".fc_mu" in key:
            entry[2] = 2.0 / 512 ** 0.5
        elif key.startswith("Zencoder."):
            fan_in = shape[0] * 9 if "model.10." in key else shape[1] * shape[2] * shape[3]  # ConvTranspose: [in, out, k, k]
            entry[2] = 1.5 / fan_in ** 0.5
    state.update(helper.regenerate(seeded))
    generator.load_state_dict(state)
    calibrate_batch_norms(generator, semantics, image)

    modulations = {name: m for name, m in generator.named_modules()
                   if name.endswith(("conv_gamma", "conv_beta", "Spade.mlp_gamma", "Spade.mlp_beta"))}
    stds = output_stds(generator, modulations, semantics, image, train=True)
    state = generator.state_dict()
    seeded_std = {entry[0]: entry for entry in seeded}
    for name, std in stds.items():
        factor = MODULATION_STD / max(std, 1e-8)
        state[f"{name}.bias"].mul_(factor)
        if f"{name}.weight" in seeded_std:
            seeded_std[f"{name}.weight"][2] *= factor
        else:
            state[f"{name}.weight"].mul_(factor)
    state.update(helper.regenerate(seeded))
    generator.load_state_dict(state)
    calibrate_batch_norms(generator, semantics, image)

    final = output_stds(generator, {"conv_img": generator.conv_img}, semantics, image, train=False)["conv_img"]
    with torch.no_grad():
        generator.conv_img.weight.mul_(OUTPUT_STD / final)
        generator.conv_img.bias.mul_(OUTPUT_STD / final)
    state = {k: v.detach().clone() for k, v in generator.state_dict().items()}
    torch.save(state, run / "latest_net_G.pth")
    (run / "latest_net_D.pth").unlink(missing_ok=True)
    helper.write_compact(state, seeded, out / "checkpoint")
    shutil.copy(run / "opt.txt", out / "checkpoint" / "opt.txt")

    # SEAN's test.py, unchanged, in a fresh process (it writes styles_test/ into its working folder)
    env = dict(os.environ, PYTHONPATH=os.environ.get("PYTHONPATH", "") + os.pathsep + str(args.sean))
    subprocess.run([sys.executable, str(args.sean / "test.py"), *flags, "--name", NAME, "--checkpoints_dir",
                    str(args.work / "checkpoints"), "--results_dir", str(args.work / "results"), "--batchSize", "1"],
                   cwd=args.work, env=env, check=True)
    shutil.rmtree(out / "results", ignore_errors=True)
    shutil.copytree(args.work / "results" / NAME / "test_latest" / "images", out / "results" / "images")
    shutil.rmtree(out / "style_codes", ignore_errors=True)
    shutil.copytree(args.work / "styles_test" / "style_codes", out / "style_codes")

    dump_default_keys(args.work, out)


def dump_default_keys(work: Path, out: Path):
    """Keys and shapes of SEAN's G and D built with its README flags (ngf = ndf = 64, crop 256)."""
    import models.networks as networks

    opt = sean_options(["--gpu_ids", "-1", "--dataset_mode", "custom", "--label_nc", "19", "--no_instance",
                        "--load_size", "256", "--crop_size", "256", "--label_dir", "x", "--image_dir", "y",
                        "--checkpoints_dir", str(work / "keys")], train=True)
    dump = {label: {k: list(v.shape) for k, v in build(opt).state_dict().items()}
            for label, build in (("G", networks.define_G), ("D", networks.define_D))}
    (out / "state_dict_keys").mkdir(parents=True, exist_ok=True)
    (out / "state_dict_keys" / "sean_default.json").write_text(json.dumps(dump, indent=1) + "\n")


if __name__ == "__main__":
    main()
