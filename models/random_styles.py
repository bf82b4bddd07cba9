"""Pictures with freshly drawn styles: what the LPIPS diversity of a multimodal generator measures.

A ``--use_vae`` generator draws its latent code from N(0, I) when it is given none (SPADE's
multimodal synthesis), so the same label map gives a new picture every time. A generator that
takes no random style has no diversity to measure.
"""
import torch


def takes_random_styles(opt) -> bool:
    """Whether the run's generator turns one label map into different pictures by drawing styles."""
    return bool(opt.use_vae)


@torch.no_grad()
def random_style_pictures(model, batch: dict) -> torch.Tensor:
    """Pictures of a batch's label maps, each with a style drawn from the prior, in [-1, 1].

    Args:
        model (Pix2PixModel): in eval mode.
        batch (dict): a data batch.
    """
    inputs = model.generator_inputs(batch)
    semantics = inputs["seg"]
    inputs["z"] = torch.randn(semantics.size(0), model.opt.z_dim, device=semantics.device)
    with model.autocast():
        return model.netG(**inputs).float()
