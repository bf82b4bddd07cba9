"""Pix2PixModel: input assembly, generation and (when training) the losses of G and D (docs/reference.md §2.7, §4)."""
import torch
import torch.nn as nn

from models import networks
from models.networks.label_pyramid import label_classes
from models.networks.loss import FeatureMatchingLoss, GANLoss, KLDLoss
from models.networks.vgg import VGGLoss
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
        # what the forward passes call: the networks, or their compiled / DistributedDataParallel
        # wrappers (see ``wrap``); a plain dict, so the wrappers stay out of the state_dict
        self.runners = {"G": self.netG, "D": self.netD, "D_local": self.netD, "E": self.netE}
        if opt.channels_last:
            self.to(memory_format=torch.channels_last)
        if not opt.isTrain:
            load_network(self.netG, "G", opt.which_epoch, opt)
            if opt.use_vae:
                load_network(self.netE, "E", opt.which_epoch, opt)
        else:
            self.criterion_gan = GANLoss(opt.gan_mode)
            self.criterion_feat = FeatureMatchingLoss()
            self.criterion_kld = KLDLoss()
            self.criterion_vgg = None if opt.no_vgg_loss else VGGLoss(opt.vgg_weights, opt.vgg_imagenet_norm)

    @staticmethod
    def modify_commandline_options(parser, is_train):
        if is_train:
            parser.add_argument("--vgg_weights", type=str, default="",
                                help="local VGG19 weight file (torchvision's vgg19-dcbb9e9d.pth) for the VGG loss; "
                                     "default: torchvision's cache")
            parser.add_argument("--vgg_imagenet_norm", action="store_true",
                                help="feed the VGG loss ImageNet-normalised images (the reference feeds [-1, 1])")
        return parser

    # ---- losses (docs/reference.md §4) ---------------------------------------------------------------------
    def generator_losses(self, data: dict) -> tuple[dict, torch.Tensor]:
        """Losses of one generator step, named as the reference logs them, and the generated images."""
        semantics, real, dist = self.preprocess_input(data)
        fake, mu, logvar = self.generate_fake(semantics, real, dist)
        losses = {}
        if self.opt.use_vae:
            losses["KLD"] = self.criterion_kld(mu, logvar) * self.opt.lambda_kld
        pred_fake, pred_real = self.discriminate(semantics, fake, real, self.runners["D_local"])
        losses["GAN"] = self.criterion_gan(pred_fake, True, for_discriminator=False)
        if not self.opt.no_ganFeat_loss:
            losses["GAN_Feat"] = self.criterion_feat(pred_fake, pred_real) * self.opt.lambda_feat
        if self.criterion_vgg is not None:
            with self.autocast():
                losses["VGG"] = self.criterion_vgg(fake.to(real.dtype), real) * self.opt.lambda_vgg
        return losses, fake

    def discriminator_losses(self, data: dict) -> dict:
        """Losses of one discriminator step on freshly generated (detached) fakes."""
        semantics, real, dist = self.preprocess_input(data)
        with torch.no_grad():
            fake, _, _ = self.generate_fake(semantics, real, dist)
        pred_fake, pred_real = self.discriminate(semantics, fake.detach(), real, self.runners["D"])
        return {"D_Fake": self.criterion_gan(pred_fake, False, for_discriminator=True),
                "D_real": self.criterion_gan(pred_real, True, for_discriminator=True)}

    def discriminate(self, semantics, fake, real, discriminator):
        """Run D once on fake and real stacked along the batch; returns (fake predictions, real predictions)."""
        fake = fake.to(real.dtype)
        fake_and_real = torch.cat((torch.cat((semantics, fake), dim=1), torch.cat((semantics, real), dim=1)), dim=0)
        with self.autocast():
            output = discriminator(fake_and_real)
        # one list of outputs per scale, whether D is multiscale or a single N-layer D
        if isinstance(output, torch.Tensor):
            output = [[output]]
        elif isinstance(output[0], torch.Tensor):
            output = [output]
        fake_half = [[t[: t.size(0) // 2] for t in scale] for scale in output]
        real_half = [[t[t.size(0) // 2:] for t in scale] for scale in output]
        return fake_half, real_half

    def wrap(self, wrapper) -> None:
        """Route the forward passes through ``wrapper(network, name)`` (compile, DDP); the networks stay as they are.

        ``D_local`` is the discriminator the generator step runs: it needs no gradient
        synchronisation, so it is never wrapped in DistributedDataParallel.
        """
        for name in ("G", "D", "D_local", "E"):
            network = getattr(self, f"net{name[0]}")
            if network is not None:
                self.runners[name] = wrapper(network, name)

    def autocast(self):
        """Mixed precision for the networks' forward passes under ``--use_amp``."""
        return torch.autocast(self.opt.device.split(":")[0], dtype=amp_dtype(self.opt), enabled=self.opt.use_amp)

    # ---- input assembly -------------------------------------------------------------------------
    def preprocess_input(self, data: dict):
        """Batch dict → (semantic map, real image, positional map or None) on the model's device.

        The semantic map is the one-hot label (dontcare at channel ``label_nc``) followed by the
        instance edge map unless ``--no_instance``.
        """
        device = self.opt.device
        semantics = self.semantic_map(data)
        image = data["image"].to(device, non_blocking=True)
        dist = data["dist"].to(device, non_blocking=True) if self.opt.add_dist else None
        if self.opt.channels_last:
            semantics, image = (t.contiguous(memory_format=torch.channels_last) for t in (semantics, image))
        return semantics, image, dist

    def semantic_map(self, data: dict) -> torch.Tensor:
        """The one-hot label map (and instance edges) of a batch, on the model's device."""
        device = self.opt.device
        label = data["label"].to(device, non_blocking=True).long()
        b, _, h, w = label.shape
        semantics = torch.zeros(b, label_classes(self.opt), h, w, device=device).scatter_(1, label, 1.0)
        if not self.opt.no_instance:
            instance = data["instance"].to(device, non_blocking=True)
            semantics = torch.cat((semantics, instance_edges(instance)), dim=1)
        return semantics

    # ---- SEAN style codes (--norm_mode sean) -----------------------------------------------------
    @torch.no_grad()
    def style_codes(self, data: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-class style codes [B, classes, style_length] of a batch's photos and [B, classes] bool: which classes have one."""
        semantics, image, _ = self.preprocess_input(data)
        with self.autocast():
            codes, present = self.netG.encode_styles(image, semantics)
        return codes.float(), present

    @torch.no_grad()
    def generate_with_style_codes(self, data: dict, codes: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] for the label maps of ``data`` (``label``, ``instance``; no photo needed) styled
        by ``codes`` [B, classes, style_length]."""
        semantics = self.semantic_map(data)
        with self.autocast():
            fake = self.runners["G"](seg=semantics, style_codes=codes.to(semantics.device))
        return fake.float()

    # ---- generation ------------------------------------------------------------------------------
    def encode_z(self, real_image):
        """VAE: sample a code from the encoder's posterior for ``real_image``; returns (z, mu, logvar)."""
        with self.autocast():
            mu, logvar = self.runners["E"](real_image)
        mu, logvar = mu.float(), logvar.float()
        std = torch.exp(0.5 * logvar)
        z = torch.randn_like(std) * std + mu
        return z, mu, logvar

    def generate_fake(self, semantics, real_image, dist=None):
        """Returns (fake image, mu, logvar); mu and logvar are None without ``--use_vae``."""
        z = mu = logvar = None
        if self.opt.use_vae:
            z, mu, logvar = self.encode_z(real_image)
        with self.autocast():
            fake = self.runners["G"](**self._inputs_of_generator(semantics, real_image, z, dist))
        return fake, mu, logvar

    def generator_inputs(self, data: dict) -> dict:
        """The keyword arguments of ``netG`` (or of a copy of it, such as the averaged one) for a batch.

        Under ``--use_vae`` the latent code is sampled from the encoder, as ``inference`` does.
        """
        semantics, real, dist = self.preprocess_input(data)
        z = self.encode_z(real)[0] if self.opt.use_vae else None
        return self._inputs_of_generator(semantics, real, z, dist)

    def _inputs_of_generator(self, semantics, real, z, dist) -> dict:
        if self.opt.norm_mode == "sean":  # the style codes come from the real photo, as in SEAN's training and test
            return {"seg": semantics, "image": real}
        return {"seg": semantics, "z": z, "input_dist": dist}

    @torch.no_grad()
    def inference(self, data: dict) -> torch.Tensor:
        """Generated images in [-1, 1] for a batch (the encoder sees the real image under ``--use_vae``)."""
        semantics, image, dist = self.preprocess_input(data)
        fake, _, _ = self.generate_fake(semantics, image, dist)
        return fake.float()


def amp_dtype(opt) -> torch.dtype:
    """``--amp_dtype``: auto is fp16 on GPUs (CLADE's choice) and bf16 on the CPU."""
    if opt.amp_dtype == "auto":
        return torch.float16 if opt.device.startswith("cuda") else torch.bfloat16
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[opt.amp_dtype]


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
