"""The model: only ``--model pix2pix`` exists, as in the reference."""
import util  # noqa: F401  (checks the Python version first)
from models import networks


def modify_commandline_options(parser, is_train: bool, current_options):
    from models.pix2pix_model import Pix2PixModel

    Pix2PixModel.modify_commandline_options(parser, is_train)
    return networks.modify_commandline_options(parser, is_train, current_options)
