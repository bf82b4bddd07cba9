"""Promise 1: the reference's flags, defaults and opt.txt format."""
import pytest

from conftest import FIXTURES
from options.persistence import format_opt_txt
from options.test_options import TestOptions
from options.train_options import TrainOptions

FIXTURE_COMMAND = ["--name", "g_spade", "--gpu_ids", "-1", "--dataset_mode", "custom", "--label_nc", "19",
                   "--no_instance", "--ngf", "8", "--ndf", "8", "--load_size", "64", "--crop_size", "64",
                   "--no_vgg_loss", "--batchSize", "2", "--niter", "1", "--niter_decay", "0", "--save_epoch_freq", "1",
                   "--print_freq", "2", "--label_dir", "./data64/labels", "--image_dir", "./data64/images",
                   "--checkpoints_dir", "./ckpt"]


def test_opt_txt_lines_equal_the_reference():
    options = TrainOptions()
    options.parse(FIXTURE_COMMAND)
    ours = format_opt_txt(options.saved_fields, options.defaults).splitlines()
    reference = (FIXTURES / "checkpoints" / "g_spade" / "opt.txt").read_text().splitlines()
    missing = [line for line in reference if line not in ours]
    assert missing == []


def test_ttur_sets_the_adam_betas():
    assert (TrainOptions().parse(FIXTURE_COMMAND).beta1, TrainOptions().parse(FIXTURE_COMMAND).beta2) == (0.0, 0.9)
    opt = TrainOptions().parse([*FIXTURE_COMMAND, "--no_TTUR"])
    assert (opt.beta1, opt.beta2) == (0.5, 0.999)
    assert TrainOptions().parse([*FIXTURE_COMMAND, "--no_TTUR", "--beta1", "0.3"]).beta1 == 0.3


def test_test_defaults_and_dataset_defaults():
    opt = TestOptions().parse(["--dataset_mode", "custom", "--label_dir", "x", "--image_dir", "y", "--gpu_ids", "-1"])
    # the dataset's defaults win over the test defaults (docs/reference.md §1.1)
    assert (opt.preprocess_mode, opt.load_size, opt.crop_size, opt.label_nc) == ("resize_and_crop", 256, 256, 13)
    assert opt.serial_batches and opt.no_flip and opt.phase == "test" and not opt.isTrain
    assert opt.how_many == float("inf") and opt.gpu_ids == [] and opt.device == "cpu"
    assert opt.semantic_nc == 14 and opt.norm_G == "spectralspadesyncbatch3x3"


@pytest.mark.parametrize("flag,value", [("--norm_mode", "cladex"), ("--preprocess_mode", "zoom"),
                                        ("--gan_mode", "softplus"), ("--num_upsampling_layers", "many")])
def test_choices_are_validated(flag, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        TrainOptions().parse([*FIXTURE_COMMAND, flag, value])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_dead_flags_are_accepted_and_say_so(capsys):
    opt = TrainOptions().parse([*FIXTURE_COMMAND, "--nef", "32", "--optimizer", "sgd", "--debug",
                                "--cache_filelist_write", "--cache_filelist_read"])
    assert opt.nef == 32
    with pytest.raises(SystemExit):
        TrainOptions().parse(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert help_text.count("does nothing") >= 5


def test_discriminator_flags_only_when_training():
    opt = TrainOptions().parse(FIXTURE_COMMAND)
    assert (opt.num_D, opt.n_layers_D, opt.netD_subarch) == (2, 4, "n_layer")
    with pytest.raises(SystemExit):
        TestOptions().parse(["--dataset_mode", "custom", "--label_dir", "x", "--image_dir", "y", "--num_D", "3"])


def test_config_file_and_command_line_precedence(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("lambda_feat: 5.0\nngf: 16\nnorm_mode: clade\nbatchSize: 6\n")
    opt = TrainOptions().parse([*FIXTURE_COMMAND, "--config", config, "--ngf", "32"])
    assert (opt.lambda_feat, opt.ngf, opt.norm_mode, opt.batchSize) == (5.0, 32, "clade", 2)
