"""Network registry: picks generator, discriminator and encoder classes by flag and builds them."""
import torch.nn as nn

from models.networks.discriminator import MultiscaleDiscriminator, NLayerDiscriminator
from models.networks.encoder import ConvEncoder
from models.networks.generator import SPADEGenerator
from models.networks.initialization import init_weights
from models.networks.sean_generator import SEANGenerator
from util.errors import UserError

GENERATORS = {"spade": SPADEGenerator}
# the reference finds classes by lower-cased name without underscores (docs/reference.md §1.1)
DISCRIMINATORS = {"multiscale": MultiscaleDiscriminator, "nlayer": NLayerDiscriminator}


def _lookup(table: dict, name: str, flag: str):
    key = name.lower().replace("_", "")
    if key not in table:
        raise UserError(f"{flag} '{name}' is not a known network; use one of: {', '.join(table)}.")
    return table[key]


def generator_class(name: str, norm_mode: str = "spade"):
    """The generator ``--netG`` names; under ``--norm_mode sean`` SEAN's generator (SEAN only has that one)."""
    generator = _lookup(GENERATORS, name, "--netG")
    return SEANGenerator if norm_mode == "sean" else generator


def discriminator_class(name: str):
    return _lookup(DISCRIMINATORS, name, "--netD")


def modify_commandline_options(parser, is_train: bool, current_options):
    """Let the chosen networks add their flags; the discriminator's only when training (as the reference).

    Args:
        parser: the argparse parser being assembled.
        is_train: whether train options are being built.
        current_options: callable returning the options parsed so far.
    """
    options = current_options()
    generator_class(options.netG, options.norm_mode).modify_commandline_options(parser, is_train)
    if is_train:
        discriminator = discriminator_class(current_options().netD)
        discriminator.modify_commandline_options(parser, is_train)
        if discriminator is MultiscaleDiscriminator:
            discriminator_class(current_options().netD_subarch).modify_commandline_options(parser, is_train)
        if options.norm_mode == "sean":
            parser.set_defaults(n_layers_D=3)  # SEAN's default (SPADE's is 4)
    return parser


def _create(network_class, opt) -> nn.Module:
    network = network_class(opt)
    init_weights(network, opt.init_type, opt.init_variance)
    return network


def define_G(opt) -> nn.Module:
    return _create(generator_class(opt.netG, opt.norm_mode), opt)


def define_D(opt) -> nn.Module:
    return _create(discriminator_class(opt.netD), opt)


def define_E(opt) -> nn.Module:
    return _create(ConvEncoder, opt)


def parameter_count(network: nn.Module) -> int:
    return sum(p.numel() for p in network.parameters())
