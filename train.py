"""Train a SPADE/CLADE generator (INVENTORY §5.1): G step, D step, log, display, FID, save; resumable by name.

    python train.py --name RUN --dataset_mode custom --label_dir L --image_dir I --label_nc 19 --no_instance
    python train.py --name RUN --continue_train
"""
import sys
import time

import torch
from tqdm import tqdm

import data
from models.evaluator import FIDEvaluator
from models.pix2pix_model import Pix2PixModel
from models.trainer import Pix2PixTrainer
from options.persistence import save_run_options
from options.train_options import TrainOptions
from util.errors import UserError, user_message
from util.iteration_counter import IterationCounter
from util.run_folder import prepare_run_folder
from util.stop_signal import StopSignal
from util.visualizer import Visualizer


def main(argv=None) -> int:
    options = TrainOptions()
    opt = options.parse(argv)
    folder = prepare_run_folder(opt)
    torch.manual_seed(opt.seed)
    dataloader = data.create_dataloader(opt)
    sampler, dataset_size = dataloader.batch_sampler, len(dataloader.dataset)
    evaluator = FIDEvaluator(opt) if opt.train_eval else None  # missing weights or data stop the run now
    model = Pix2PixModel(opt).to(opt.device)
    trainer = Pix2PixTrainer(opt, model, dataloader.dataset, evaluator)
    counter = IterationCounter(opt)
    if opt.continue_train:
        tqdm.write(trainer.resume(counter, dataset_size - dataset_size % opt.batchSize))
    save_run_options(folder, options.saved_fields, options.defaults)
    visualizer = Visualizer(opt, first_iteration=counter.iterations)
    stop = StopSignal()

    batches_per_epoch = sampler.batches_per_epoch()
    done = (counter.epoch - 1) * batches_per_epoch + counter.epoch_images // opt.batchSize
    progress = tqdm(total=counter.total_epochs * batches_per_epoch, initial=done, unit="it", dynamic_ncols=True)
    start_iterations, started = counter.iterations, time.time()
    while not counter.is_finished() and not stop.requested:
        epoch = counter.epoch
        trainer.set_epoch(epoch)
        sampler.set_epoch(epoch, start_sample=counter.epoch_images)
        progress.set_description(f"epoch {epoch}/{counter.total_epochs}")
        last = time.time()
        for batch in dataloader:
            if counter.batch_index % opt.D_steps_per_G == 0:
                trainer.generator_step(batch)
            trainer.discriminator_step(batch)
            batch_size = batch["label"].size(0)
            counter.record_batch(batch_size)
            now, seconds = time.time(), time.time() - last
            last = now
            progress.update(1)
            if counter.needs_printing(batch_size):
                losses = {k: v.item() for k, v in trainer.latest_losses().items()}
                progress.set_postfix({k: f"{v:.3f}" for k, v in losses.items()}, refresh=False)
                visualizer.print_losses(epoch, counter.epoch_images, losses, seconds / batch_size,
                                        counter.iterations, trainer.current_learning_rates(), batch_size / seconds)
            if counter.needs_displaying(batch_size) and trainer.generated is not None:
                visualizer.display(epoch, counter.epoch_images, batch["label"], trainer.generated, batch["image"],
                                   counter.iterations)
            if counter.needs_saving(batch_size) or stop.requested:
                trainer.save("latest", counter)
            if stop.requested:
                break
        if stop.requested:
            break
        if evaluator is not None and evaluator.is_due(epoch):
            evaluator.evaluate(trainer, counter, visualizer)
        counter.end_epoch()
        if epoch % opt.save_epoch_freq == 0 or epoch == counter.total_epochs:
            trainer.save("latest", counter)
            trainer.save(str(epoch), counter)
    progress.close()
    visualizer.close()
    trained = counter.iterations - start_iterations
    rate = trained * opt.batchSize / max(time.time() - started, 1e-9)
    if stop.requested:
        print(f"stopped by {stop.signal_name} at epoch {counter.epoch}, image {counter.epoch_images}: saved latest "
              f"checkpoint and training state to {folder}; resume with --name {opt.name} --continue_train")
        return 0
    print(f"Training was successfully finished: {counter.total_epochs} epochs, {counter.iterations} iterations "
          f"({trained} this launch, {rate:.1f} images/s), checkpoints in {folder}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UserError as error:
        print(f"error: {user_message(error)}", file=sys.stderr)
        sys.exit(1)
