"""Each official segmenter: the official code's state_dict keys and shapes, its outputs on the same random
weights (fixtures made by running the official code, tests/fixtures/README.md), strict loading of the weight file."""
import dataclasses
import functools
import json

import numpy as np
import pytest
import torch

from conftest import REPO
from seeded_weights import seeded_input, seeded_state_dict
from models import segmenters
from util.errors import UserError

FIXTURES = REPO / "tests" / "fixtures" / "segmenters"
NAMES = sorted(path.stem for path in FIXTURES.glob("*.json"))


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@functools.cache
def seeded_network(name: str):
    """Our network with the fixture's seeded weights (built on the meta device: no time spent on initialisation)."""
    made = fixture(name)
    with torch.device("meta"):
        network = segmenters.SEGMENTERS[name].build()
    network.load_state_dict(seeded_state_dict(made["state_dict"], made["seed"]), strict=True, assign=True)
    return network.eval()


def save_as_released(name: str, state: dict, folder):
    """Write a state_dict as the official release is laid out: one file, or one file per part in a folder."""
    spec = segmenters.SEGMENTERS[name]
    if not spec.parts:
        torch.save(state, folder / spec.weights_file)
        return folder / spec.weights_file
    for prefix, file in spec.parts:
        torch.save({key[len(prefix) + 1:]: value for key, value in state.items() if key.startswith(prefix + ".")},
                   folder / file)
    return folder


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_keys_and_shapes_are_the_official_ones(name):
    with torch.device("meta"):
        ours = {key: list(value.shape) for key, value in segmenters.SEGMENTERS[name].build().state_dict().items()}
    official = fixture(name)["state_dict"]
    assert sorted(set(official) - set(ours)) == [] and sorted(set(ours) - set(official)) == []
    assert ours == official


@pytest.mark.parametrize("name", NAMES)
def test_outputs_equal_the_official_code_on_the_same_random_weights(name):
    made = fixture(name)
    with torch.no_grad():
        output = seeded_network(name)(seeded_input(made["input_shape"], made["input_seed"]))
    expected = np.load(FIXTURES / f"{name}_output.npy")
    assert list(output.shape) == made["output_shape"]
    scale = np.abs(expected).max()
    assert np.abs(output.numpy() - expected).max() <= 1e-4 * scale, "outputs differ from the official code's"


@pytest.mark.parametrize("name", NAMES)
def test_official_weight_file_loads_strictly_and_segments(name, tmp_path):
    made = fixture(name)
    weights = seeded_network(name).state_dict()
    path = save_as_released(name, weights, tmp_path)
    loaded = segmenters.load_segmenter(name, path)
    assert all(torch.equal(value, weights[key]) for key, value in loaded.network.state_dict().items())
    small = dataclasses.replace(loaded.spec, input_size=made["input_shape"][2:])  # the protocol's size is slow here
    segmenter = segmenters.Segmenter(small, loaded.network)
    pictures = torch.rand(2, 3, 40, 48) * 2 - 1
    labels = segmenter.predict(pictures, (20, 24))
    assert labels.shape == (2, 20, 24)
    allowed = set(segmenter.spec.class_to_label)
    assert set(labels.unique().tolist()) <= allowed


@pytest.mark.parametrize("name", NAMES)
def test_a_wrong_or_missing_weight_file_is_one_sentence(name, tmp_path):
    spec = segmenters.SEGMENTERS[name]
    with pytest.raises(UserError, match="--seg_weights PATH"):
        segmenters.check_weights_file(name, "")
    with pytest.raises(UserError, match=f"{tmp_path / 'absent.pth'}.* do not exist.*--seg_weights PATH"):
        segmenters.check_weights_file(name, tmp_path / "absent.pth")
    parts = [prefix for prefix, _ in spec.parts] or [""]
    wrong = save_as_released(name, {f"{prefix}.conv.weight".lstrip("."): torch.zeros(1) for prefix in parts}, tmp_path)
    with pytest.raises(UserError, match=f"does not hold the weights of --segmenter {name} .*missing keys.*"
                                        f"{len(parts)} unexpected keys, e.g. .*conv.weight.*{spec.weights_file}") as error:
        segmenters.load_segmenter(name, wrong)
    assert "\n" not in str(error.value)


def test_bisenet_classes_map_onto_celebamaskhq_labels_by_name():
    from models.segmenters.bisenet import CLASS_NAMES as BISENET
    from util.celebamaskhq import CLASS_NAMES as CELEBAMASKHQ

    spec = segmenters.SEGMENTERS["bisenet_face"]
    assert [CELEBAMASKHQ[label] for label in spec.class_to_label] == list(BISENET)
    assert sorted(spec.class_to_label) == list(range(19))


def test_cityscapes_scores_its_19_classes_and_ignores_the_other_label_ids():
    spec = segmenters.SEGMENTERS["drn_d_105"]
    segmenter = segmenters.Segmenter(spec, torch.nn.Identity())
    labels = torch.tensor([0, 6, 7, 8, 26, 33, 34, 255])  # unlabeled, ground, road, sidewalk, car, bicycle, -, dontcare
    assert segmenter.evaluation_index(labels).tolist() == [-1, -1, 0, 1, 13, 18, -1, -1]
    assert len(spec.class_names) == 19 and spec.class_names[13] == "car"


def test_each_segmenter_sees_pictures_normalised_as_it_was_trained():
    picture = torch.tensor([-1.0, 0.0, 1.0]).view(1, 3, 1, 1)  # RGB = 0, 127.5, 255 of 255
    deeplab = segmenters.Segmenter(segmenters.SEGMENTERS["deeplabv2_cocostuff"], torch.nn.Identity())
    expected_bgr = torch.tensor([255 - 104.008, 127.5 - 116.669, 0 - 122.675])
    assert torch.allclose(deeplab.network_input(picture).flatten(), expected_bgr, atol=1e-3)
    unet = segmenters.Segmenter(segmenters.SEGMENTERS["celebamaskhq_unet"], torch.nn.Identity())
    resized = unet.network_input(picture)
    assert resized.shape == (1, 3, 512, 512)  # the authors' test size, nearest resampling keeps the values
    assert torch.allclose(resized[0, :, 100, 200], torch.tensor([-1.0, 0.0, 1.0]))
