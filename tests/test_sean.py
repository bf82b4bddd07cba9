"""SEAN (--norm_mode sean) against SEAN's own code: layout, pictures, style codes, mean codes; style transfer."""
import json
import shutil

import numpy as np
import pytest
import torch
from scipy import ndimage

import data
import sean_fixture
import test as test_entry
from conftest import DATA64, FIXTURE_FLAGS, REPO, read_png, run_script
from models import networks
from models.networks.label_pyramid import LabelPyramid
from models.networks.sean import ACE, StyleEncoder
from models.pix2pix_model import Pix2PixModel
from options.test_options import TestOptions
from options.train_options import TrainOptions
from util.errors import UserError
from util.style_codes import blend_codes
from util.visuals import tensor_to_image

SEAN = REPO / "tests" / "fixtures" / "sean"
NAME = "sean_tiny"
DATA_FLAGS = ["--label_dir", DATA64 / "labels", "--image_dir", DATA64 / "images"]
HAIR = 13


def sean_flags(checkpoints):
    return [*FIXTURE_FLAGS, "--norm_mode", "sean", "--name", NAME, "--checkpoints_dir", checkpoints, *DATA_FLAGS]


@pytest.fixture(scope="module")
def sean_run(tmp_path_factory):
    """The checkpoints folder holding SEAN's fixture generator, regenerated from its seeds."""
    checkpoints = tmp_path_factory.mktemp("sean") / "checkpoints"
    (checkpoints / NAME).mkdir(parents=True)
    torch.save(sean_fixture.expand(SEAN / "checkpoint"), checkpoints / NAME / "latest_net_G.pth")
    return checkpoints


@pytest.fixture(scope="module")
def sean_results(sean_run, tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    return test_entry.main([*sean_flags(sean_run), "--results_dir", results, "--batchSize", "3",
                            "--save_style_codes", "--compute_recon_metrics"])


@pytest.fixture(scope="module")
def sean_model(sean_run):
    """The fixture generator in this process, and the first four samples."""
    opt = TestOptions().parse([*sean_flags(sean_run), "--batchSize", "4"])
    return Pix2PixModel(opt).eval(), next(iter(data.create_dataloader(opt)))


def differences(ours, theirs):
    difference = np.abs(ours.astype(np.int64) - theirs.astype(np.int64))
    return difference.max(), difference.mean()


def test_pictures_match_sean(sean_results):
    reference = SEAN / "results" / "images"
    stems = sorted(p.name for p in (reference / "synthesized_image").glob("*.png"))
    assert len(stems) == 16
    assert sorted(p.name for p in (sean_results / "images" / "synthesized_image").glob("*.png")) == stems
    for stem in stems:
        largest, mean = differences(read_png(sean_results / "images" / "synthesized_image" / stem),
                                    read_png(reference / "synthesized_image" / stem))
        assert largest <= 2 and mean < 0.5, stem
        assert np.array_equal(read_png(sean_results / "images" / "input_label" / stem),
                              read_png(reference / "input_label" / stem)), stem


def test_style_codes_match_sean(sean_results):
    theirs = sorted(p.relative_to(SEAN) for p in SEAN.glob("style_codes/*/*/ACE.npy"))
    ours = sorted(p.relative_to(sean_results) for p in sean_results.glob("style_codes/*/*/ACE.npy"))
    assert len(theirs) > 16 * 10 and ours == theirs
    worst = max(np.abs(np.load(SEAN / p) - np.load(sean_results / p)).max() for p in theirs)
    assert worst < 1e-4


def test_mean_style_codes_match_sean(sean_results, tmp_path):
    shutil.copytree(sean_results / "style_codes", tmp_path / "style_codes")
    result = run_script("scripts/mean_style_codes.py", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wrote the mean codes of 17 classes" in result.stdout
    theirs = sorted(p.relative_to(SEAN) for p in SEAN.glob("mean_style_code/mean/*/ACE.npy"))
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.glob("mean_style_code/mean/*/ACE.npy")) == theirs
    assert max(np.abs(np.load(SEAN / p) - np.load(tmp_path / p)).max() for p in theirs) < 1e-4


def test_reconstruction_metrics_are_those_of_the_written_pictures(sean_results):
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    line = (sean_results / "recon_metrics.txt").read_text().splitlines()[-1]
    words = line.split()
    reported = {name: float(words[words.index(name) + 1]) for name in ("SSIM", "PSNR", "RMSE")}
    assert "16 images" in line
    ssim, psnr, rmse = [], [], []
    for path in sorted((sean_results / "images" / "synthesized_image").glob("*.png")):
        fake, real = read_png(path).astype(np.uint8), read_png(DATA64 / "images" / f"{path.stem}.jpg").astype(np.uint8)
        ssim.append(structural_similarity(real, fake, channel_axis=2, data_range=255))
        psnr.append(peak_signal_noise_ratio(real, fake, data_range=255))
        rmse.append(np.sqrt(np.mean((real / 255.0 - fake / 255.0) ** 2)))
    # the real images pass through the loader's [-1, 1] tensors (±1 level), hence the tolerance
    assert reported["SSIM"] == pytest.approx(np.mean(ssim), abs=0.01)
    assert reported["PSNR"] == pytest.approx(np.mean(psnr), abs=0.1)
    assert reported["RMSE"] == pytest.approx(np.mean(rmse), abs=0.003)


def test_state_dict_keys_match_sean_default():
    expected = json.loads((SEAN / "state_dict_keys" / "sean_default.json").read_text())
    opt = TrainOptions().parse(["--gpu_ids", "-1", "--dataset_mode", "custom", "--label_nc", "19", "--no_instance",
                                "--crop_size", "256", "--label_dir", "x", "--image_dir", "y", "--norm_mode", "sean"])
    with torch.device("meta"):  # shapes only: the real generator would take hundreds of MB
        built = {"G": networks.define_G(opt), "D": networks.define_D(opt)}
    for label, network in built.items():
        assert [[k, list(v.shape)] for k, v in network.state_dict().items()] == \
               [[k, v] for k, v in expected[label].items()], f"net{label} differs"
    assert (opt.n_layers_D, opt.niter_decay) == (3, 50)  # SEAN's defaults
    assert built["D"].discriminator_0.model2[0][0].stride == (2, 2)  # SEAN strides every layer


def test_sean_checkpoint_without_norm_mode_says_to_add_it(sean_run, tmp_path):
    flags = [flag for flag in sean_flags(sean_run) if flag not in ("--norm_mode", "sean")]
    result = run_script("test.py", *flags, "--results_dir", tmp_path)
    assert result.returncode == 1
    assert "is a SEAN checkpoint (keys Zencoder.*, *.ace_0.*): add --norm_mode sean." in result.stderr
    assert "Traceback" not in result.stderr


def test_breaking_the_style_or_spade_branch_changes_the_pictures_far_beyond_the_tolerance(sean_model):
    model, batch = sean_model
    reference = np.stack([read_png(SEAN / "results" / "images" / "synthesized_image" / f"{i:05d}.png")
                          for i in range(4)])
    saved = {k: v.clone() for k, v in model.netG.state_dict().items()}

    def pictures():
        return np.stack([tensor_to_image(image) for image in model.inference(batch)])

    assert differences(pictures(), reference)[0] <= 2
    for branch in ("conv_gamma", "conv_beta", "Spade.mlp_gamma", "Spade.mlp_beta"):
        with torch.no_grad():
            for key, value in model.netG.state_dict().items():
                if f".{branch}." in key:
                    value.zero_()
        largest, mean = differences(pictures(), reference)
        model.netG.load_state_dict(saved)
        assert largest > 60 and mean > 5, branch


def test_transferring_all_regions_onto_the_style_image_s_own_label_is_its_reconstruction(sean_model):
    model, batch = sean_model
    codes, present = model.style_codes(batch)
    mixed = torch.stack([blend_codes(codes[2], codes[2], present[2])] * 4)
    mixed[3] = blend_codes(codes[3], codes[2], present[2])  # another face's styles: a different picture
    transferred = model.generate_with_style_codes(batch, mixed)
    reconstructed = model.inference(batch)
    assert torch.equal(transferred[2], reconstructed[2])
    assert differences(tensor_to_image(transferred[2]),
                       read_png(SEAN / "results" / "images" / "synthesized_image" / "00002.png"))[0] <= 2
    assert differences(tensor_to_image(transferred[3]), tensor_to_image(reconstructed[3]))[1] > 5


def test_transferring_hair_changes_the_style_map_only_on_hair_and_the_picture_most_on_hair(sean_model):
    model, batch = sean_model
    codes, present = model.style_codes(batch)
    donors = [(i + 1) % 4 for i in range(4)]
    mixed = torch.stack([blend_codes(codes[i], codes[d], present[d], [HAIR]) for i, d in enumerate(donors)])
    semantics = model.semantic_map(batch)
    labels = LabelPyramid(semantics, 19)
    for name, module in model.netG.named_modules():
        if isinstance(module, ACE) and module.use_style:  # exact: every style norm changes on hair pixels only
            for size in ((2, 2), (8, 8), (32, 32)):
                changed = (module.painted_styles(mixed, labels, size) != module.painted_styles(codes, labels, size))
                hair_here = labels.class_masks(size)[:, HAIR] > 0
                assert not (changed.any(dim=1) & ~hair_here).any(), name
                assert changed.any() == hair_here.any()
    before = model.generate_with_style_codes(batch, codes)
    after = model.generate_with_style_codes(batch, mixed)
    change = np.stack([np.abs(tensor_to_image(a).astype(int) - tensor_to_image(b).astype(int)).max(axis=2)
                       for a, b in zip(after, before)])
    hair = batch["label"][:, 0].numpy() == HAIR
    # at 64 px the first block works on 2x2 cells of 32 px: every style change reaches far (the fixture's
    # weights are barely trained), but a hair pixel changes on average at least twice as much as one
    # more than 16 px from the hair
    far = ~np.stack([ndimage.binary_dilation(h, iterations=16) for h in hair])
    assert change[hair].mean() > 2 * change[far].mean()


def test_transfer_script_writes_the_grid_and_keeps_unchosen_classes(sean_run, tmp_path):
    result = run_script("scripts/transfer_style.py", "--content", "00001", "00002", "--style_codes",
                        SEAN / "style_codes" / "00007.jpg", "--classes", "hair", "skin", "--alpha", "0", "1",
                        "--output", tmp_path, *sean_flags(sean_run))
    assert result.returncode == 0, result.stderr
    assert "wrote 4 pictures" in result.stdout
    grid = read_png(tmp_path / "grid.png")
    assert grid.shape == (2 * 64, 5 * 64, 3)
    for stem in ("00001", "00002"):  # alpha 0 keeps the content's own codes: its reconstruction
        own = read_png(tmp_path / f"{stem}_styled_by_00007.jpg_alpha0.png")
        assert differences(own, read_png(SEAN / "results" / "images" / "synthesized_image" / f"{stem}.png"))[0] <= 2
        assert differences(read_png(tmp_path / f"{stem}_styled_by_00007.jpg_alpha1.png"), own)[1] > 1


def test_transfer_script_rejects_unknown_classes(sean_run, tmp_path, capsys):
    from scripts import transfer_style

    with pytest.raises(SystemExit) as stop:
        transfer_style.main(["--content", "00001", "--style", "00002", "--classes", "wig", "--output", tmp_path,
                             *sean_flags(sean_run)])
    assert stop.value.code == 1
    assert "--classes: 'wig' is neither a class id below 19 nor one of background, skin" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def looped_painting(ace, codes, masks):
    """SEAN's loop: for each image and class present, scatter relu(fc_mu<j>(code)) into the region."""
    painted = torch.zeros(masks.size(0), codes.size(2), *masks.shape[2:])
    for i in range(masks.size(0)):
        for j in range(masks.size(1)):
            region = masks[i, j].bool()
            if region.sum() > 0:
                value = torch.relu(getattr(ace, f"fc_mu{j}")(codes[i][j]))
                painted[i].masked_scatter_(region, value.reshape(-1, 1).expand(-1, int(region.sum())))
    return painted


def test_vectorised_painting_and_region_means_equal_sean_s_loops():
    torch.manual_seed(0)
    label = torch.randint(0, 5, (3, 1, 16, 16))
    label[1][label[1] == 2] = 0  # class 2 absent from one image, class 4 from all
    label[label == 4] = 1
    semantics = torch.zeros(3, 5, 16, 16).scatter_(1, label, 1.0)
    labels = LabelPyramid(semantics, 5)
    ace = ACE("spadebatch3x3", 4, 5, 5, style_length=8)
    for j in range(5):
        torch.nn.init.normal_(getattr(ace, f"fc_mu{j}").weight)
    codes = torch.randn(3, 5, 8)
    assert torch.allclose(ace.painted_styles(codes, labels, (16, 16)), looped_painting(ace, codes, semantics),
                          atol=1e-6)

    encoder = StyleEncoder(code_length=8, width=4)
    image = torch.randn(3, 3, 16, 16)
    features = encoder.model(image)
    masks = torch.nn.functional.interpolate(semantics, size=features.shape[2:], mode="nearest")
    looped = torch.zeros(3, 5, 8)
    for i in range(3):
        for j in range(5):
            region = masks[i, j].bool()
            if region.sum() > 0:
                looped[i, j] = features[i].masked_select(region).reshape(8, -1).mean(1)
    assert torch.allclose(encoder(image, labels), looped, atol=1e-6)
    assert encoder.regions(labels, (16, 16)).tolist() == (looped.abs().sum(2) > 0).tolist()


def style_maps_by_convolution(ace, codes, labels, size):
    painted = ace.painted_styles(codes, labels, size)
    return ace.conv_gamma(painted), ace.conv_beta(painted)


@pytest.mark.parametrize("layout", ["faces 32", "random ids 8", "one class absent 16"])
def test_style_shortcut_equals_the_convolutions_with_gradients(layout):
    """ACE's per-(image, class, tap) sums give conv_gamma and conv_beta of the painted map, and their gradients."""
    from scripts.make_demo_dataset import face_label_maps

    torch.manual_seed(0)
    kind, size = layout.rsplit(" ", 1)
    size = int(size)
    if kind == "faces":
        label = torch.from_numpy(face_label_maps(2, size, size).astype(np.int64)).unsqueeze(1) % 19
    else:
        label = torch.randint(0, 19, (2, 1, size, size))
        if kind == "one class absent":
            label[1][label[1] == 5] = 6
    semantics = torch.zeros(2, 19, 64, 64).scatter_(1, torch.nn.functional.interpolate(
        label.float(), size=(64, 64), mode="nearest").long(), 1.0)
    ace = ACE("spadebatch3x3", 6, 19, 19, style_length=16)
    for j in range(19):
        torch.nn.init.normal_(getattr(ace, f"fc_mu{j}").weight, std=0.3)
    parameters = [ace.conv_gamma.weight, ace.conv_gamma.bias, ace.conv_beta.bias, ace.fc_mu1.weight]
    results = []
    for method in (ace.style_modulation, lambda *a: style_maps_by_convolution(ace, *a)):
        codes = torch.randn(2, 19, 16, generator=torch.Generator().manual_seed(1)).requires_grad_()
        labels = LabelPyramid(semantics, 19)
        gamma, beta = method(codes, labels, (size, size))
        weights = torch.randn(2, *gamma.shape, generator=torch.Generator().manual_seed(2))
        (gamma * weights[0] + beta * weights[1]).sum().backward()
        results.append([gamma.detach(), beta.detach(), codes.grad, *(t.grad.clone() for t in parameters)])
        ace.zero_grad()
    for shortcut, convolved in zip(*results):
        assert torch.allclose(shortcut, convolved, rtol=1e-5, atol=1e-5 * convolved.abs().max().item())


def test_any_label_nc_with_dontcare_and_instance_maps():
    opt = TrainOptions().parse(["--gpu_ids", "-1", "--dataset_mode", "custom", "--label_nc", "4",
                                "--contain_dontcare_label", "--crop_size", "32", "--ngf", "4", "--style_length", "8",
                                "--label_dir", "x", "--image_dir", "y", "--norm_mode", "sean"])
    generator = networks.define_G(opt).eval()
    assert hasattr(generator.head_0.ace_0, "fc_mu4") and not hasattr(generator.head_0.ace_0, "fc_mu5")
    label = torch.randint(0, 5, (2, 1, 32, 32))
    semantics = torch.cat((torch.zeros(2, 5, 32, 32).scatter_(1, label, 1.0), torch.rand(2, 1, 32, 32).round()), 1)
    image = torch.rand(2, 3, 32, 32) * 2 - 1
    codes, present = generator.encode_styles(image, semantics)
    assert codes.shape == (2, 5, 8) and present.all()
    out = generator(semantics, image=image)
    assert out.shape == (2, 3, 32, 32)
    assert torch.allclose(out, generator(semantics, style_codes=codes), atol=1e-6)


@pytest.mark.parametrize("flag,message", [
    (["--use_vae"], "--use_vae does not apply to --norm_mode sean"),
    (["--add_dist"], "--add_dist does not apply to --norm_mode sean"),
])
def test_flags_sean_cannot_use_are_refused(flag, message):
    with pytest.raises(UserError, match=message):
        TrainOptions().parse(["--gpu_ids", "-1", "--dataset_mode", "custom", "--label_dir", "x", "--image_dir", "y",
                              "--norm_mode", "sean", *flag])


def test_saving_style_codes_needs_sean(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        test_entry.main([*FIXTURE_FLAGS, *DATA_FLAGS, "--name", "x", "--checkpoints_dir", tmp_path, "--save_style_codes"])
    assert stop.value.code == 1
    assert "--save_style_codes needs --norm_mode sean" in capsys.readouterr().err
