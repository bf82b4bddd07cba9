"""Train a SPADE/CLADE generator (docs/reference.md §5.1): G step, D step, log, display, FID, save; resumable by name.

    python train.py --name RUN --dataset_mode custom --label_dir L --image_dir I --label_nc 19 --no_instance
    python train.py --name RUN --continue_train
    torchrun --nproc_per_node 4 train.py ...      (or --gpu_ids 0,1,2,3: one process per GPU)
"""
import sys
import time

import torch
from tqdm import tqdm

import data
from data.validation import validate_dataset
from models.pix2pix_model import Pix2PixModel
from models.trainer import Pix2PixTrainer
from options.launch_history import append_launch, change_lines, changed_options
from options.persistence import save_run_options
from options.train_options import TrainOptions
from util.distributed import any_process, collectives_failing_as_user_errors, init_distributed, is_main, \
    launch_workers, launched_by_torchrun, mean_over_processes, run_on_main, shutdown
from util.divergence import refuse_nonfinite_losses
from util.errors import exits_on_user_error
from util.iteration_counter import IterationCounter
from util.run_folder import prepare_run_folder, removed_if_start_fails
from util.stop_signal import StopSignal
from util.visualizer import Visualizer


@exits_on_user_error
def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else [str(arg) for arg in argv]
    options = TrainOptions()
    opt = options.parse(argv)
    if len(opt.gpu_ids) > 1 and not launched_by_torchrun():
        return launch_workers(len(opt.gpu_ids), [__file__, *argv])
    init_distributed(opt)
    with collectives_failing_as_user_errors(opt):
        return train(opt, options)


def train(opt, options) -> int:
    folder = run_on_main(opt, "preparing the run folder", lambda: prepare_run_folder(opt))
    with removed_if_start_fails(folder):  # bad data or missing weights leave no empty run folder behind
        torch.manual_seed(opt.seed + opt.rank)
        dataloader = data.create_dataloader(opt, rank=opt.rank, world_size=opt.world_size)
        sampler, dataset_size = dataloader.batch_sampler, len(dataloader.dataset)
        if not opt.no_validation:
            run_on_main(opt, "the dataset check", lambda: validate_dataset(dataloader.dataset, opt))
        # missing Inception weights or validation data stop the run now, not after an epoch
        evaluator = run_on_main(opt, "loading the FID evaluation", lambda: fid_evaluator(opt)) if opt.train_eval else None
        model = Pix2PixModel(opt).to(opt.device)
        trainer = Pix2PixTrainer(opt, model, dataloader.dataset, evaluator)
        counter = IterationCounter(opt)
        if opt.continue_train:
            resumed = trainer.resume(counter, dataset_size - dataset_size % opt.batchSize)
            if is_main(opt):
                tqdm.write(resumed)
        images_per_epoch = sampler.batches_per_epoch() * opt.batchSize
        if is_main(opt):
            save_run_options(folder, options.saved_fields, options.defaults)
            record_launch(folder, options, counter)
    visualizer = Visualizer(opt, counter, images_per_epoch)
    stop = StopSignal()

    progress = tqdm(total=counter.iterations + remaining_iterations(counter, sampler), initial=counter.iterations,
                    unit="it", dynamic_ncols=True, disable=not is_main(opt))
    start_iterations, started = counter.iterations, time.time()
    stopping = False
    while not counter.is_finished() and not stopping:
        epoch = counter.epoch
        trainer.set_epoch(epoch)
        sampler.set_epoch(epoch, start_sample=counter.epoch_images)
        progress.set_description(f"epoch {epoch}/{counter.total_epochs}")
        last = time.time()
        for batch in dataloader:
            if counter.batch_index % opt.D_steps_per_G == 0:
                trainer.generator_step(batch)
            trainer.discriminator_step(batch)
            batch_size = batch["label"].size(0) * opt.world_size
            counter.record_batch(batch_size)
            now, seconds = time.time(), time.time() - last
            last = now
            progress.update(1)
            if counter.needs_printing(batch_size):
                losses = mean_over_processes(trainer.latest_losses(), opt)
                refuse_nonfinite_losses(losses, counter, trainer.last_saved_iteration)
                progress.set_postfix({k: f"{v:.3f}" for k, v in losses.items()}, refresh=False)
                visualizer.print_losses(epoch, counter.epoch_images, losses, seconds / batch_size,
                                        counter.iterations, trainer.current_learning_rates(), batch_size / seconds)
            if counter.needs_displaying(batch_size) and trainer.generated is not None:
                visualizer.display(epoch, counter.epoch_images, batch["label"], trainer.generated, batch["image"],
                                   counter.iterations)
            stopping = any_process(stop.requested, opt)  # every process stops after the same batch
            if counter.needs_saving(batch_size) or stopping:
                trainer.save("latest", counter)
            if stopping:
                break
        if stopping:
            break
        if counter.needs_evaluation(epoch):  # rank 0 evaluates, the others wait
            run_on_main(opt, "the FID evaluation", lambda: evaluator.evaluate(trainer, counter, visualizer))
        counter.end_epoch()
        if epoch % opt.save_epoch_freq == 0 or epoch == counter.total_epochs:
            trainer.save("latest", counter)
            trainer.save(str(epoch), counter)
    progress.close()
    visualizer.close()
    shutdown(opt)
    trained = counter.iterations - start_iterations
    rate = trained * opt.batchSize / max(time.time() - started, 1e-9)
    if not is_main(opt):
        return 0
    if stopping:
        print(f"stopped by {stop.signal_name or 'another process'} at epoch {counter.epoch}, image {counter.epoch_images}: saved latest "
              f"checkpoint and training state to {folder}; resume with --name {opt.name} --continue_train")
        return 0
    print(f"Training was successfully finished: {counter.total_epochs} epochs, {counter.iterations} iterations "
          f"({trained} this launch, {rate:.1f} images/s), checkpoints in {folder}")
    return 0


def record_launch(folder, options, counter) -> None:
    """Print what this launch changes against the saved run, one line per flag, and add it to the run's history."""
    resumed = options.saved_fields["continue_train"]
    changes = changed_options(options.restored, options.saved_fields) if resumed else None
    if changes:
        tqdm.write("options changed against the saved run:\n" + "\n".join(f"  {line}" for line in change_lines(changes)))
    position = (f"resume at epoch {counter.epoch}, image {counter.epoch_images} (iteration {counter.iterations})"
                if resumed else "start")
    append_launch(folder, position, changes)


def remaining_iterations(counter, sampler) -> int:
    """Batches left to train at this launch's batch size: the rest of this epoch, then whole epochs."""
    if counter.is_finished():
        return 0
    sampler.set_epoch(counter.epoch, start_sample=counter.epoch_images)
    return len(sampler) + (counter.total_epochs - counter.epoch) * sampler.batches_per_epoch()


def fid_evaluator(opt):
    """The ``--train_eval`` evaluator; Inception's libraries are imported only for runs that ask for FID."""
    from models.evaluator import FIDEvaluator

    return FIDEvaluator(opt)


if __name__ == "__main__":
    sys.exit(main())
