"""Pix2PixTrainer: optimizers, learning-rate schedule, one G step and one D step, checkpoints and resume.

Differences from the reference (docs/reference.md §5.2, §5.3, §12.6), on purpose: resume restores the
optimizers, the learning rate, the position inside the epoch, every RNG state, the averaged
generator (``--ema_decay``) and the best FID, so a resumed run continues exactly where it stopped.
"""
from itertools import islice

import torch
from torch.nn.parallel import DistributedDataParallel

import data
from models.adam import fused_adam
from models.ema import GeneratorEMA
from models.networks.normalization import GlooSyncBatchNorm, replace_batch_norms
from models.pix2pix_model import amp_dtype
from util import checkpoint
from util.distributed import gather_objects, is_main
from util.errors import UserError
from util.checkpoint_set import save_checkpoint_set
from util.divergence import refuse_nonfinite_weights
from util.iteration_counter import IterationCounter, read_iter_txt
from util.training_state import capture_rng_states, checkpoint_set_files, load_training_state, restore_rng_states, \
    training_state


class Pix2PixTrainer:
    """Args:
        opt: the resolved training options.
        model: a ``Pix2PixModel`` already on ``opt.device``.
        dataset: the training dataset; under ``--ema_decay`` its batches measure the averaged
            generator's batch-norm statistics.
        evaluator: the run's ``FIDEvaluator`` (``--train_eval``), whose best FID is saved and
            resumed with the training state.
    """

    def __init__(self, opt, model, dataset=None, evaluator=None):
        self.opt, self.model, self.dataset, self.evaluator = opt, model, dataset, evaluator
        self.ema = GeneratorEMA(model.netG, opt.ema_decay) if opt.ema_decay else None
        self.ema_batches = None
        if self.ema is not None and opt.ema_bn_batches < 1:
            raise UserError(f"--ema_bn_batches {opt.ema_bn_batches} must be at least 1: the averaged generator's "
                            f"batch-norm statistics are measured on that many training batches.")
        self.folder = checkpoint.run_folder(opt)
        g_params = list(model.netG.parameters()) + (list(model.netE.parameters()) if opt.use_vae else [])
        g_lr, d_lr = self.learning_rates(1)
        betas = (opt.beta1, opt.beta2)
        self.optimizer_G = fused_adam(g_params, g_lr, betas, opt.compile)
        self.optimizer_D = fused_adam(model.netD.parameters(), d_lr, betas, opt.compile)
        # fp16 needs loss scaling against underflow; bf16 has fp32's range and does not
        scaling = opt.use_amp and amp_dtype(opt) == torch.float16
        device_type = opt.device.split(":")[0]
        self.scaler_G = torch.amp.GradScaler(device_type, enabled=scaling)
        self.scaler_D = torch.amp.GradScaler(device_type, enabled=scaling)
        self.g_losses, self.d_losses, self.generated = {}, {}, None
        self.last_saved_iteration = None  # the iteration of the last set saved by this launch or the resumed one
        self._speed_up()

    def _speed_up(self) -> None:
        """DistributedDataParallel and torch.compile, as the flags ask."""
        opt = self.opt
        distributed = getattr(opt, "world_size", 1) > 1
        if distributed and not opt.device.startswith("cuda"):
            for network in self.networks().values():
                replace_batch_norms(network, torch.nn.SyncBatchNorm, GlooSyncBatchNorm)

        def wrapper(network, name):
            if distributed and name != "D_local":
                device_ids = [torch.device(opt.device).index] if opt.device.startswith("cuda") else None
                # SEAN leaves parameters unused: the blending weights of its last block, and the per-class
                # layers of classes absent from a process's batch
                network = DistributedDataParallel(network, device_ids=device_ids,
                                                  find_unused_parameters=opt.norm_mode == "sean")
            return torch.compile(network) if opt.compile else network

        if distributed or opt.compile:
            self.model.wrap(wrapper)

    # ---- learning rate ---------------------------------------------------------------------------
    def learning_rates(self, epoch: int) -> tuple[float, float]:
        """(G lr, D lr) during ``epoch``: constant for ``niter`` epochs (+1, as the reference), then linear to 0."""
        opt = self.opt
        decayed = max(0, epoch - 1 - opt.niter)
        lr = opt.lr * (1 - decayed / opt.niter_decay) if opt.niter_decay > 0 else opt.lr
        lr = max(lr, 0.0)
        return (lr, lr) if opt.no_TTUR else (lr / 2, lr * 2)

    def set_epoch(self, epoch: int) -> None:
        g_lr, d_lr = self.learning_rates(epoch)
        for optimizer, lr in ((self.optimizer_G, g_lr), (self.optimizer_D, d_lr)):
            for group in optimizer.param_groups:
                group["lr"] = lr

    def current_learning_rates(self) -> dict:
        return {"G": self.optimizer_G.param_groups[0]["lr"], "D": self.optimizer_D.param_groups[0]["lr"]}

    # ---- steps -------------------------------------------------------------------------------------
    def generator_step(self, batch: dict) -> None:
        self.model.netD.requires_grad_(False)  # G's step needs no gradients of D's weights
        self.optimizer_G.zero_grad(set_to_none=True)
        losses, self.generated = self.model.generator_losses(batch)
        self.scaler_G.scale(sum(losses.values())).backward()
        self.scaler_G.step(self.optimizer_G)
        self.scaler_G.update()
        if self.ema is not None:
            self.ema.update(self.model.netG)
        self.model.netD.requires_grad_(True)
        self.g_losses = {name: loss.detach() for name, loss in losses.items()}

    def discriminator_step(self, batch: dict) -> None:
        self.optimizer_D.zero_grad(set_to_none=True)
        losses = self.model.discriminator_losses(batch)
        self.scaler_D.scale(sum(losses.values())).backward()
        self.scaler_D.step(self.optimizer_D)
        self.scaler_D.update()
        self.d_losses = {name: loss.detach() for name, loss in losses.items()}

    def latest_losses(self) -> dict:
        return {**self.g_losses, **self.d_losses}

    # ---- averaged generator ----------------------------------------------------------------------
    def evaluation_generator(self) -> tuple[torch.nn.Module, str]:
        """The generator to evaluate and its name: the average (``G_ema``) under ``--ema_decay``, else ``G``."""
        if self.ema is None:
            return self.model.netG, "G"
        return self._refreshed_ema_generator(), "G_ema"

    def _refreshed_ema_generator(self) -> torch.nn.Module:
        """The averaged generator, its batch-norm statistics measured on ``--ema_bn_batches`` training batches."""
        if not self.ema.batch_norm_fresh:
            if self.ema_batches is None:
                if self.dataset is None:
                    raise ValueError("the averaged generator's batch-norm statistics need the training dataset: "
                                     "pass dataset= to Pix2PixTrainer")
                # a loader of its own (its order fixed by the seed): the training loader's position stays put
                self.ema_batches = data.create_dataloader(self.opt, self.dataset)
            batches = islice(self.ema_batches, self.opt.ema_bn_batches)
            self.ema.refresh_batch_norm(self.model.generator_inputs(batch) for batch in batches)
        return self.ema.generator

    # ---- checkpoints -------------------------------------------------------------------------------
    def networks(self) -> dict:
        nets = {"G": self.model.netG, "D": self.model.netD}
        if self.opt.use_vae:
            nets["E"] = self.model.netE
        return nets

    def save(self, which: str, counter: IterationCounter) -> None:
        """Save the checkpoint set ``which`` as one unit: weights (and ``G_ema``); for ``latest`` also the
        training state and ``iter.txt`` (``util/training_state.py`` defines the set).

        ``latest`` is saved by every process at the same point (the RNG states of all are
        gathered); other checkpoints (``best`` by rank 0 alone) hold no collective. Only rank 0 writes.

        Raises:
            UserError: a weight is not finite; nothing is written, so the last good set stays.
        """
        networks = dict(self.networks())
        # the same weights on every process, so all stop together; the average is finite while G is
        refuse_nonfinite_weights(networks, counter, self.last_saved_iteration)
        rng_states = gather_objects(capture_rng_states(), self.opt) if which == "latest" else None
        if not is_main(self.opt):
            self.last_saved_iteration = counter.iterations
            return
        if self.ema is not None:
            networks["G_ema"] = self._refreshed_ema_generator()
        state, position = None, None
        if which == "latest":
            state = training_state(optimizer_G=self.optimizer_G.state_dict(),
                                   optimizer_D=self.optimizer_D.state_dict(),
                                   scaler_G=self.scaler_G.state_dict(), scaler_D=self.scaler_D.state_dict(),
                                   counter=counter.state_dict(), rng=rng_states,
                                   **({"evaluation": self.evaluator.state_dict()} if self.evaluator else {}))
            position = (counter.epoch, counter.epoch_images)
        save_checkpoint_set(self.folder, which, checkpoint_set_files(which, networks, state, position))
        self.last_saved_iteration = counter.iterations

    def resume(self, counter: IterationCounter, images_per_epoch: int) -> str:
        """Load weights and, when saved, the whole training state; returns a one-line description.

        Call last, after the data loader exists: it restores the RNG states.

        Args:
            counter: the run's counter, set to where the run stopped.
            images_per_epoch: to place a reference run (which only has iter.txt) on the global count.
        """
        which = self.opt.which_epoch
        for label, network in self.networks().items():
            checkpoint.load_network(network, label, which, self.opt)
        averaged = self._resume_average(which)
        state = load_training_state(self.folder, which) if which == "latest" else None
        if self.evaluator is not None:
            self.evaluator.load_state_dict(state.get("evaluation") if state is not None else None)
        if state is None:
            resumed = self._resume_from_weights(counter, which, images_per_epoch)
            self.last_saved_iteration = counter.iterations
            return resumed + averaged
        self.optimizer_G.load_state_dict(state["optimizer_G"])
        self.optimizer_D.load_state_dict(state["optimizer_D"])
        for scaler, key in ((self.scaler_G, "scaler_G"), (self.scaler_D, "scaler_D")):
            if state.get(key):
                scaler.load_state_dict(state[key])
        counter.load_state_dict(state["counter"])
        self.last_saved_iteration = counter.iterations
        rank = getattr(self.opt, "rank", 0)
        restore_rng_states(state["rng"][rank % len(state["rng"])])
        return (f"resumed {self.folder} at epoch {counter.epoch}, image {counter.epoch_images} of the epoch "
                f"(iteration {counter.iterations}) with optimizer and RNG states" + averaged)

    def _resume_average(self, which: str) -> str:
        """Load ``<which>_net_G_ema.pth`` under ``--ema_decay``; returns what the resume message adds."""
        if self.ema is None:
            return ""
        if not checkpoint.network_path(self.opt, which, "G_ema").is_file():
            self.ema.reset(self.model.netG)
            return f"; no {which}_net_G_ema.pth, so the weight average starts at the loaded G"
        checkpoint.load_network(self.ema.generator, "G_ema", which, self.opt)
        self.ema.batch_norm_fresh = True  # saved right after a refresh
        return f", and the weight average {which}_net_G_ema.pth"

    def _resume_from_weights(self, counter: IterationCounter, which: str, images_per_epoch: int) -> str:
        record = read_iter_txt(self.folder)
        if record is None and not which.isdigit():
            raise UserError(f"{self.folder} has neither a training state nor a readable iter.txt to tell where "
                            f"--which_epoch {which} stopped; restore iter.txt or resume from an epoch checkpoint.")
        epoch, epoch_images = record if record is not None else (int(which) + 1, 0)
        counter.epoch, counter.epoch_images = epoch, epoch_images
        counter.total_images = (epoch - 1) * images_per_epoch + epoch_images
        counter.iterations = counter.total_images // self.opt.batchSize
        counter.batch_index = epoch_images // self.opt.batchSize
        return (f"resumed {self.folder} from the {which} weights at epoch {epoch}, image {epoch_images} "
                f"(no training state: optimizers start fresh)")

