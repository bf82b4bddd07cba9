"""Promise 2: freshly built networks have exactly the reference's state_dict keys, order and shapes."""
import json

import pytest

from conftest import FIXTURES
from models import networks
from options.train_options import TrainOptions

FLAG_SETS = {
    "spade_default": ["--no_instance"],
    "clade_default": ["--norm_mode", "clade", "--no_instance"],
    "clade_icpe_default": ["--norm_mode", "clade", "--no_instance", "--add_dist"],
    "clade_instance_default": ["--norm_mode", "clade"],
    "spade_instance_default": [],
    "clade_vae_default": ["--norm_mode", "clade", "--no_instance", "--use_vae"],
}


def shapes(network) -> list:
    return [[key, list(value.shape)] for key, value in network.state_dict().items()]


@pytest.mark.parametrize("name", sorted(FLAG_SETS))
def test_keys_order_and_shapes_match_reference(name):
    expected = json.loads((FIXTURES / "state_dict_keys" / f"{name}.json").read_text())
    opt = TrainOptions().parse(["--gpu_ids", "-1", "--dataset_mode", "custom", "--label_nc", "19",
                                "--crop_size", "256", "--label_dir", "x", "--image_dir", "y", *FLAG_SETS[name]])
    built = {"G": networks.define_G(opt), "D": networks.define_D(opt)}
    if opt.use_vae:
        built["E"] = networks.define_E(opt)
    assert sorted(built) == sorted(expected)
    for label, network in built.items():
        assert shapes(network) == [[k, v] for k, v in expected[label].items()], f"{name}: net{label} differs"
