"""A generator we save loads strictly in a fresh process and gives the same pictures."""
import numpy as np
import torch

from conftest import DATA64, FIXTURE_FLAGS, read_png, run_script
from models.pix2pix_model import Pix2PixModel
from options.train_options import TrainOptions
from data import create_dataloader
from util.checkpoint import save_network
from util.visuals import tensor_to_image


def test_saved_generator_reproduces_in_fresh_process(tmp_path):
    flags = [*FIXTURE_FLAGS, "--norm_mode", "clade", "--name", "ours", "--checkpoints_dir", str(tmp_path / "ck"),
             "--label_dir", str(DATA64 / "labels"), "--image_dir", str(DATA64 / "images")]
    torch.manual_seed(3)
    opt = TrainOptions().parse([*flags, "--serial_batches", "--no_flip", "--batchSize", "2", "--no_vgg_loss"])
    model = Pix2PixModel(opt).eval()
    # make the norm statistics non-trivial, as after training
    for module in model.netG.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    save_network(model.netG, "G", "latest", opt)
    batch = next(iter(create_dataloader(opt)))
    expected = [tensor_to_image(image) for image in model.inference(batch)]

    result = run_script("test.py", *flags, "--results_dir", tmp_path / "results", "--how_many", "2")
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "results" / "ours" / "test_latest" / "images" / "synthesized_image"
    for image, stem in zip(expected, ("00000", "00001")):
        assert np.array_equal(read_png(folder / f"{stem}.png"), image)
    assert "wrote 2 pictures" in result.stdout
