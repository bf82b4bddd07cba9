"""The model: only ``--model pix2pix`` exists, as in the reference."""
from models import networks


def modify_commandline_options(parser, is_train: bool, current_options):
    return networks.modify_commandline_options(parser, is_train, current_options)
