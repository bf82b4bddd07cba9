"""FID during training (``--train_eval``): CLADE's feature (docs/reference.md §6) without its mistakes.

Unlike CLADE, the generated validation images are compared with the real images of the same
validation samples, both at test-time preprocessing (no flip, no random crop); the real
statistics are computed once per run and cached. The best FID survives a resume, and the best
checkpoint is only replaced by a lower FID.
"""
import copy
import hashlib
import math
import time
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn as nn
from tqdm import tqdm

import data
from options.persistence import load_size_at_test_time
from util import fid
from util.checkpoint import run_folder
from util.errors import UserError
from util.files import atomic_write_bytes
from util.training_state import capture_rng_states, restore_rng_states

EVAL_LOG = "eval_log.txt"
EVAL_LOG_HEADER = f"{'epoch':>5}  {'iteration':>9}  {'FID':>10}  {'best_FID':>10}  weights\n"
CLADE_BEST_FILE = "fid.txt"


class FIDEvaluator:
    """Holds the Inception network, the real statistics of the validation set and the best FID.

    Built before training starts, so that missing Inception weights or validation data stop the
    run at once.

    Args:
        opt: the resolved training options; reads ``eval_dims``, ``fid_weights``,
            ``eval_real_stats``, ``eval_epoch_freq``, ``niter``, ``niter_decay``, ``device`` and
            what ``validation_options`` reads.
    """

    def __init__(self, opt):
        rng_states = capture_rng_states()  # Inception's construction draws; a run trains alike with or without FID
        self.opt = opt
        self.folder = run_folder(opt)
        val_opt = validation_options(opt)
        if opt.dataset_mode == "custom" and not opt.val_label_dir:
            tqdm.write("note: no --val_label_dir/--val_image_dir given, so FID is measured on the training images "
                       "(at test-time preprocessing)")
        try:
            self.dataloader = data.create_dataloader(val_opt)
        except UserError as error:
            raise UserError(f"--train_eval needs a validation set: {error}") from None
        self.inception = fid.load_inception(opt.eval_dims, opt.fid_weights or None, opt.device)  # after the cheap checks
        self.real_mu, self.real_sigma = self._real_statistics(val_opt)
        note = fid.few_images_note(len(self.dataloader.dataset), opt.eval_dims)
        if note:
            tqdm.write(note)
        self.best_fid, self.best_epoch = math.inf, None
        restore_rng_states(rng_states)

    def evaluate(self, trainer, counter, visualizer) -> float:
        """FID of the generator (the averaged one under ``--ema_decay``) on the validation set.

        A FID below the best so far saves ``best_net_*.pth``; every evaluation is logged to
        ``eval_log.txt``, ``loss_log.txt``, TensorBoard (``eval/FID``) and the console.

        Args:
            trainer (Pix2PixTrainer): gives the generator and saves the best checkpoint.
            counter (IterationCounter): at the end of the evaluated epoch.
            visualizer (Visualizer): the run's loss log and TensorBoard writer.
        """
        started = time.time()
        generator, weights = trainer.evaluation_generator()
        rng_states = capture_rng_states()  # --use_vae samples codes; training must not notice
        fake = self._fake_statistics(trainer.model, generator, counter.epoch)
        restore_rng_states(rng_states)
        distance = max(fid.frechet_distance(self.real_mu, self.real_sigma, *fake.result()), 0.0)
        previous_best = self.best_fid
        if distance < self.best_fid:
            trainer.save("best", counter)
            self.best_fid, self.best_epoch = distance, counter.epoch
            atomic_write_bytes(self.folder / CLADE_BEST_FILE, f"{distance:.4f}\n0.0000\n".encode())
        self._log(counter, distance, previous_best, weights, visualizer, time.time() - started)
        return distance

    def _fake_statistics(self, model, generator: nn.Module, epoch: int) -> fid.ActivationStatistics:
        """Inception statistics of the generated validation images, as their saved PNGs would read back."""
        fake = fid.ActivationStatistics(self.inception)
        networks = [generator] + ([model.netE] if model.opt.use_vae else [])
        with evaluation_mode(*networks), torch.no_grad():
            for batch in tqdm(self.dataloader, desc=f"FID epoch {epoch}", unit="batch", leave=False):
                fake.add(fid.as_saved_8bit(generator(**model.generator_inputs(batch))))
        return fake

    # ---- real statistics -----------------------------------------------------------------------------
    def _real_statistics(self, val_opt):
        opt = self.opt
        if opt.eval_real_stats:
            mu, sigma = fid.load_statistics(opt.eval_real_stats)
            if len(mu) != opt.eval_dims:
                raise UserError(f"--eval_real_stats {opt.eval_real_stats} holds {len(mu)}-dimensional statistics but "
                                f"--eval_dims is {opt.eval_dims}; pass --eval_dims {len(mu)} or other statistics.")
            return mu, sigma
        path = self.folder / f"fid_real_stats_{opt.eval_dims}.npz"
        source = self._validation_source(val_opt)
        if path.is_file() and fid.statistics_source(path) == source:
            tqdm.write(f"FID: real statistics of the validation images from {path}")
            return fid.load_statistics(path)
        if path.is_file():
            tqdm.write(f"FID: the validation images changed since {path} was computed; computing it again")
        started = time.time()
        real = fid.ActivationStatistics(self.inception)
        for batch in tqdm(self.dataloader, desc="FID real statistics", unit="batch", leave=False):
            real.add(batch["image"])
        mu, sigma = real.result()
        fid.save_statistics(path, mu, sigma, source)
        tqdm.write(f"FID: real statistics of {real.count} validation images in {time.time() - started:.1f} s, "
                   f"cached in {path}")
        return mu, sigma

    def _validation_source(self, val_opt) -> str:
        """What the real statistics depend on: the image files, their preprocessing and the Inception features."""
        paths = self.dataloader.dataset.image_paths
        digest = hashlib.sha1("\n".join(map(str, paths)).encode()).hexdigest()[:16]
        return (f"{len(paths)} images (paths sha1 {digest}), preprocess {val_opt.preprocess_mode} load "
                f"{val_opt.load_size} crop {val_opt.crop_size} aspect {val_opt.aspect_ratio} seed {val_opt.seed}, "
                f"dims {val_opt.eval_dims}")

    # ---- logs and resume -----------------------------------------------------------------------------
    def _log(self, counter, distance: float, previous_best: float, weights: str, visualizer, seconds: float):
        epoch = counter.epoch
        log_path = self.folder / EVAL_LOG
        text = log_path.read_text() if log_path.is_file() else ""
        row = f"{epoch:>5}  {counter.iterations:>9}  {distance:>10.3f}  {self.best_fid:>10.3f}  {weights}\n"
        atomic_write_bytes(log_path, ((text or EVAL_LOG_HEADER) + row).encode())
        # CLADE's line, which its tools parse (docs/reference.md §6)
        with open(visualizer.log_path, "a") as loss_log:
            loss_log.write(f"(epoch: {epoch}, curr FID: {distance:.3f}, previous best FID: {previous_best:.3f}) \n")
        visualizer.log_scalar("eval/FID", distance, counter.iterations)
        best_epoch = self.best_epoch if self.best_epoch is not None else "?"
        tqdm.write(f"FID {distance:.3f} at epoch {epoch} (best {self.best_fid:.3f} at epoch {best_epoch}; "
                   f"{weights} weights, {seconds:.1f} s)")

    def state_dict(self) -> dict:
        return {"best_fid": self.best_fid, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict | None) -> None:
        """Restore the best FID; without a saved one (older runs, CLADE runs), recover it from the run folder.

        Args:
            state: from ``state_dict``, or None.
        """
        if state is None:
            state = best_from_eval_log(self.folder / EVAL_LOG) or best_from_clade_file(self.folder / CLADE_BEST_FILE)
        if state is not None:
            self.best_fid, self.best_epoch = state["best_fid"], state["best_epoch"]


def validation_options(opt):
    """The options that load the validation set the way ``test.py`` loads a dataset.

    A copy of the training options, not in training mode (no flip, no dropped last batch), in
    file order, with ``load_size_at_test_time``. Dataset modes with splits read their held-out split
    (``--phase test``: the ``val`` folders of COCO, ADE20K and Cityscapes, CelebAMask-HQ's
    ``test``); ``--dataset_mode custom`` reads ``--val_label_dir``/``--val_image_dir`` or, when
    they are not given, the training folders.

    Args:
        opt: the resolved training options.
    """
    val = copy.copy(opt)
    val.isTrain, val.no_flip, val.serial_batches = False, True, True
    val.load_size = load_size_at_test_time(opt)
    given = {flag: value for flag, value in (("--val_label_dir", opt.val_label_dir),
                                             ("--val_image_dir", opt.val_image_dir),
                                             ("--val_instance_dir", opt.val_instance_dir)) if value}
    if opt.dataset_mode != "custom":
        if given:
            raise UserError(f"{', '.join(given)} only apply to --dataset_mode custom; --dataset_mode "
                            f"{opt.dataset_mode} reads its validation split from --dataroot.")
        val.phase = "test"
    elif given:
        if not (opt.val_label_dir and opt.val_image_dir):
            raise UserError("--val_label_dir and --val_image_dir go together; give both folders of the validation "
                            "set, or neither to measure FID on the training images.")
        val.label_dir, val.image_dir, val.instance_dir = opt.val_label_dir, opt.val_image_dir, opt.val_instance_dir
        # a --dist_dir holds the training labels' maps; validation maps are found beside its labels or computed
        val.dist_dir = ""
    return val


@contextmanager
def evaluation_mode(*networks: nn.Module):
    """Run the networks in eval mode, then give every submodule back the mode it had."""
    modes = [(module, module.training) for network in networks for module in network.modules()]
    for network in networks:
        network.eval()
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


def best_from_eval_log(path: Path) -> dict | None:
    """The lowest FID of an ``eval_log.txt`` and its epoch, or None when it has no rows.

    Args:
        path: the run's ``eval_log.txt``.
    """
    rows = []
    if Path(path).is_file():
        for line in Path(path).read_text().splitlines()[1:]:
            fields = line.split()
            try:
                rows.append({"best_fid": float(fields[2]), "best_epoch": int(fields[0])})
            except (ValueError, IndexError):  # a line edited by hand: the other rows still count
                continue
    return min(rows, key=lambda row: row["best_fid"]) if rows else None


def best_from_clade_file(path: Path) -> dict | None:
    """CLADE's best FID (first line of ``fid.txt``; its epoch is not recorded), or None.

    Args:
        path: the run's ``fid.txt``.
    """
    try:
        return {"best_fid": float(Path(path).read_text().split()[0]), "best_epoch": None}
    except (OSError, ValueError, IndexError):
        return None
