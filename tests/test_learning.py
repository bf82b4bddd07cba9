"""Training on the demo data for a small fixed budget measurably learns the label → photo mapping."""
import torch

import data
import train
from conftest import run_script
from models import networks
from models.pix2pix_model import Pix2PixModel
from options.test_options import TestOptions


def mean_l1(generator_of, flags) -> float:
    """Mean |generated - real| over the training set, in [-1, 1] units, with the generator in eval mode."""
    opt = TestOptions().parse([*flags, "--batchSize", "8"])
    total, count = 0.0, 0
    model = generator_of(opt)
    for batch in data.create_dataloader(opt):
        with torch.no_grad():
            fake = model(model_input(model, batch, opt))
        total += (fake - batch["image"]).abs().mean().item() * fake.size(0)
        count += fake.size(0)
    return total / count


def model_input(model, batch, opt):
    semantics = torch.zeros(batch["label"].size(0), opt.label_nc, *batch["label"].shape[2:])
    return semantics.scatter_(1, batch["label"].long(), 1.0)


def test_demo_training_lowers_l1(tmp_path):
    made = run_script("scripts/make_demo_dataset.py", "--out", tmp_path / "demo", "--num_train", "32",
                      "--num_test", "2", "--size", "64")
    assert made.returncode == 0, made.stderr
    flags = ["--gpu_ids", "-1", "--dataset_mode", "custom", "--label_nc", "19", "--no_instance", "--norm_mode",
             "clade", "--ngf", "8", "--load_size", "64", "--crop_size", "64", "--name", "learn",
             "--checkpoints_dir", tmp_path / "checkpoints", "--label_dir", tmp_path / "demo" / "train" / "labels",
             "--image_dir", tmp_path / "demo" / "train" / "images"]
    torch.manual_seed(0)
    start = mean_l1(lambda opt: networks.define_G(opt).eval(), flags)
    train.main([*flags, "--ndf", "8", "--no_vgg_loss", "--batchSize", "4", "--niter", "4", "--print_freq", "1000",
                "--display_freq", "1000"])
    end = mean_l1(lambda opt: Pix2PixModel(opt).netG.eval(), flags)
    assert start > 0.8
    assert end < 0.5 * start, (start, end)
