"""Pix2PixModel: input assembly, generation and (when training) the losses of G and D (INVENTORY §2.7, §4)."""
import torch
import torch.nn as nn

from models import networks
from util.checkpoint import load_network


class Pix2PixModel(nn.Module):
    """Holds G (and D, E) and turns a data batch into semantics, fakes and losses.

    Args:
        opt: the resolved options.
    """

    def __init__(self, opt):
        super().__init__()
        self.opt = opt
        self.netG = networks.define_G(opt)
        self.netD = networks.define_D(opt) if opt.isTrain else None
        self.netE = networks.define_E(opt) if opt.use_vae else None
        if not opt.isTrain:
            load_network(self.netG, "G", opt.which_epoch, opt)
            if opt.use_vae:
                load_network(self.netE, "E", opt.which_epoch, opt)

    # ---- input assembly -------------------------------------------------------------------------
    def preprocess_input(self, data: dict):
        """Batch dict → (semantic map, real image, positional map or None) on the model's device.

        The semantic map is the one-hot label (dontcare at channel ``label_nc``) followed by the
        instance edge map unless ``--no_instance``.
        """
        device = self.opt.device
        label = data["label"].to(device, non_blocking=True).long()
        classes = self.opt.label_nc + (1 if self.opt.contain_dontcare_label else 0)
        b, _, h, w = label.shape
        semantics = torch.zeros(b, classes, h, w, device=device).scatter_(1, label, 1.0)
        if not self.opt.no_instance:
            instance = data["instance"].to(device, non_blocking=True)
            semantics = torch.cat((semantics, instance_edges(instance)), dim=1)
        image = data["image"].to(device, non_blocking=True)
        dist = data["dist"].to(device, non_blocking=True) if self.opt.add_dist else None
        return semantics, image, dist

    # ---- generation ------------------------------------------------------------------------------
    def encode_z(self, real_image):
        """VAE: sample a code from the encoder's posterior for ``real_image``; returns (z, mu, logvar)."""
        mu, logvar = self.netE(real_image)
        std = torch.exp(0.5 * logvar)
        z = torch.randn_like(std) * std + mu
        return z, mu, logvar

    def generate_fake(self, semantics, real_image, dist=None):
        """Returns (fake image, mu, logvar); mu and logvar are None without ``--use_vae``."""
        z = mu = logvar = None
        if self.opt.use_vae:
            z, mu, logvar = self.encode_z(real_image)
        return self.netG(semantics, z=z, input_dist=dist), mu, logvar

    @torch.no_grad()
    def inference(self, data: dict) -> torch.Tensor:
        """Generated images in [-1, 1] for a batch (the encoder sees the real image under ``--use_vae``)."""
        semantics, image, dist = self.preprocess_input(data)
        fake, _, _ = self.generate_fake(semantics, image, dist)
        return fake


def instance_edges(instance: torch.Tensor) -> torch.Tensor:
    """1 where a pixel's instance id differs from a 4-neighbour's (both pixels of a pair), else 0."""
    edge = torch.zeros_like(instance, dtype=torch.bool)
    horizontal = instance[:, :, :, 1:] != instance[:, :, :, :-1]
    vertical = instance[:, :, 1:, :] != instance[:, :, :-1, :]
    edge[:, :, :, 1:] |= horizontal
    edge[:, :, :, :-1] |= horizontal
    edge[:, :, 1:, :] |= vertical
    edge[:, :, :-1, :] |= vertical
    return edge.float()
