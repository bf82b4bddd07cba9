"""Train the toy segmenter on a dataset's real photos, so generated pictures can be scored without downloads.

    python scripts/train_segmenter.py --dataset_mode custom --label_dir datasets/demo/train/labels \
        --image_dir datasets/demo/train/images --label_nc 19 --no_instance --load_size 64 --crop_size 64 \
        --out checkpoints/toy_segmenter.pth

Takes train.py's dataset flags (the same flips and crops); writes a file that
``scripts/evaluate.py --segmenter toy --seg_weights PATH`` loads. On the demo faces it reaches
a pixel accuracy of about 0.9 on the test photos in a minute or two on a CPU.
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from tqdm import tqdm  # noqa: E402

import data  # noqa: E402
from models.segmenters.toy import ToySegmenter  # noqa: E402
from options.train_options import TrainOptions  # noqa: E402
from util.errors import UserError, exits_on_user_error  # noqa: E402
from util.files import atomic_torch_save  # noqa: E402

IGNORED_LABEL = 255


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Every other flag is one of train.py's dataset flags.")
    parser.add_argument("--out", type=Path, required=True, help="where to write the segmenter's weight file")
    parser.add_argument("--epochs", type=int, default=30, help="passes over the training photos")
    parser.add_argument("--width", type=int, default=16, help="channels of the network's first level")
    parser.add_argument("--seg_lr", type=float, default=3e-3, help="Adam learning rate")
    args, rest = parser.parse_known_args(argv)
    if args.epochs < 1 or args.width < 1:
        parser.error("--epochs and --width must be at least 1")
    return args, rest


def training_options(rest: list[str]):
    """train.py's options for the given dataset flags (the segmenter reads only the data ones)."""
    return TrainOptions().parse(["--name", "toy_segmenter", *rest])


@exits_on_user_error
def main(argv=None) -> Path:
    args, rest = parse_args(sys.argv[1:] if argv is None else [str(arg) for arg in argv])
    opt = training_options(rest)
    if args.out.is_dir():
        raise UserError(f"--out {args.out} is a folder; give the path of the file to write.")
    torch.manual_seed(opt.seed)
    loader = data.create_dataloader(opt)
    classes = opt.label_nc + (1 if opt.contain_dontcare_label else 0)
    model = ToySegmenter(classes, args.width).to(opt.device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.seg_lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs * len(loader))
    started, loss = time.time(), float("nan")
    with tqdm(total=args.epochs * len(loader), desc="segmenter", unit="batch") as progress:
        for epoch in range(args.epochs):
            loader.batch_sampler.set_epoch(epoch)
            for batch in loader:
                loss = training_step(model, optimizer, batch, opt.device)
                schedule.step()
                progress.update(1)
                progress.set_postfix(loss=f"{loss:.3f}")
    atomic_torch_save(model.cpu().checkpoint(), args.out)
    print(f"trained the toy segmenter ({classes} classes, width {args.width}) for {args.epochs} epochs on "
          f"{len(loader.dataset)} photos in {time.time() - started:.0f} s, final loss {loss:.3f}; wrote {args.out}")
    return args.out


def training_step(model, optimizer, batch: dict, device) -> float:
    images = batch["image"].to(device)
    labels = batch["label"].to(device).long()[:, 0]
    loss = F.cross_entropy(model(images), labels, ignore_index=IGNORED_LABEL)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


if __name__ == "__main__":
    main()
