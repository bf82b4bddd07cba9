"""Evaluate generated pictures as the papers do: FID, KID, mIoU, pixel accuracy, per-class IoU, LPIPS diversity.

    python scripts/evaluate.py --name RUN [--which_epoch E] [--use_ema] <test.py's dataset flags> \
        [--segmenter NAME --seg_weights PATH]
    python scripts/evaluate.py --compare RUN_A RUN_B ... <test.py's dataset flags>
    python scripts/evaluate.py --generated DIR --real DIR --labels DIR --segmenter NAME --seg_weights PATH

A run's test pictures are generated first (through test.py) unless they are already there. The
table goes to the console and to evaluation.{md,csv,json} beside the pictures
(results/<name>/<phase>_<epoch>[_ema]/); --json PATH also writes the figures to PATH.
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

import data  # noqa: E402
import models.segmenters as segmenters  # noqa: E402
from models.random_styles import random_style_pictures, takes_random_styles  # noqa: E402
from options.base_options import parse_gpu_ids  # noqa: E402
from options.test_options import TestOptions  # noqa: E402
from util import evaluation, evaluation_table, fid, lpips_diversity  # noqa: E402
from util.errors import UserError, exits_on_user_error  # noqa: E402

RESULTS_STEM = "evaluation"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Every other flag is one of test.py's (run name, epoch, dataset).")
    modes = parser.add_argument_group("what to evaluate (default: the run given by --name)")
    modes.add_argument("--compare", nargs="+", metavar="RUN", help="evaluate several runs and print them side by side")
    modes.add_argument("--generated", type=Path, help="plain-folders mode: folder of generated pictures")
    modes.add_argument("--real", type=Path, help="plain-folders mode: folder of real photos (FID, KID)")
    modes.add_argument("--labels", type=Path,
                       help="plain-folders mode: label maps (class ids) named like the generated pictures")
    modes.add_argument("--out", type=Path, help="plain-folders mode: where the table goes (default: beside --generated)")
    metrics = parser.add_argument_group("metrics")
    metrics.add_argument("--metrics", default=",".join(evaluation.METRICS),
                         help="comma-separated subset of fid,kid,seg,diversity (diversity only for runs with "
                              "random styles)")
    metrics.add_argument("--segmenter", default="",
                         help=f"one of {', '.join(segmenters.SEGMENTER_NAMES)}; default: the one the papers use "
                              f"for --dataset_mode")
    metrics.add_argument("--seg_weights", default="", help="the segmenter's weight file")
    metrics.add_argument("--fid_weights", default="",
                         help=f"local FID Inception weights ({fid.WEIGHTS_FILE_NAME}); default: torch hub's cache")
    metrics.add_argument("--lpips_weights", default="",
                         help=f"local AlexNet weights for LPIPS ({lpips_diversity.ALEXNET_FILE_NAME}); "
                              f"default: torch hub's cache")
    metrics.add_argument("--kid_subsets", type=int, default=100, help="KID: random subsets")
    metrics.add_argument("--kid_subset_size", type=int, default=1000,
                         help="KID: images per subset (capped at the number of images)")
    metrics.add_argument("--diversity_samples", type=int, default=10,
                         help="diversity: pictures per label map, every pair compared")
    output = parser.add_argument_group("output")
    output.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    output.add_argument("--regenerate", action="store_true", help="generate the pictures even if they exist")
    output.add_argument("--gpu_ids", default="0", help="gpu ids, e.g. 0; -1 for the CPU")
    output.add_argument("--eval_batch_size", type=int, default=16, help="plain-folders mode: pictures per batch")
    args, rest = parser.parse_known_args(argv)
    args.metrics = _metric_set(args.metrics)
    folders = [args.generated, args.real, args.labels]
    if any(folders) and not args.generated:
        parser.error("--real and --labels belong to plain-folders mode, which needs --generated DIR")
    if args.generated and args.compare:
        parser.error("--compare compares runs; plain-folders mode (--generated) evaluates one set of pictures")
    if min(args.kid_subsets, args.kid_subset_size, args.eval_batch_size) < 1 or args.diversity_samples < 2:
        parser.error("--kid_subsets, --kid_subset_size and --eval_batch_size must be at least 1, "
                     "--diversity_samples at least 2")
    return args, rest


def _metric_set(text: str) -> set:
    chosen = {name.strip() for name in text.split(",") if name.strip()}
    unknown = chosen - set(evaluation.METRICS)
    if unknown or not chosen:
        raise UserError(f"--metrics {text}: use a comma-separated subset of {','.join(evaluation.METRICS)}.")
    return chosen


# ---- checks that need no weights -------------------------------------------------------------------
def check_inception(args) -> None:
    if not args.metrics & {"fid", "kid"}:
        return
    path = Path(args.fid_weights) if args.fid_weights else fid.cached_weights_path()
    if not path.is_file():
        raise UserError(f"FID/KID need the Inception weights {fid.WEIGHTS_FILE_NAME}, not found at {path}; download "
                        f"{fid.WEIGHTS_URL} there or pass --fid_weights PATH (or leave fid,kid out of --metrics).")


def segmenter_name(args, dataset_mode: str | None) -> str:
    if args.segmenter:
        return args.segmenter
    if dataset_mode in segmenters.DEFAULT_SEGMENTER:
        return segmenters.DEFAULT_SEGMENTER[dataset_mode]
    raise UserError(f"--metrics seg needs --segmenter NAME for {dataset_mode or 'plain folders'} (one of "
                    f"{', '.join(segmenters.SEGMENTER_NAMES)}), or leave seg out of --metrics.")


# ---- networks ------------------------------------------------------------------------------------
def load_networks(args, device, seg_name: str | None):
    inception = fid.load_inception(2048, args.fid_weights or None, device) if args.metrics & {"fid", "kid"} else None
    segmenter = segmenters.load_segmenter(seg_name, args.seg_weights, device) if seg_name else None
    return inception, segmenter


def new_scores(args, inception, segmenter):
    return evaluation.PictureScores(inception, segmenter, args.kid_subsets, args.kid_subset_size,
                                    want_fid="fid" in args.metrics, want_kid="kid" in args.metrics)


# ---- a run ---------------------------------------------------------------------------------------
def run_options(rest: list[str], args, name: str | None = None):
    argv = rest + ["--gpu_ids", args.gpu_ids] + (["--name", name] if name else [])
    return TestOptions().parse(argv), argv


def pictures_folder(opt) -> Path:
    return Path(opt.results_dir) / opt.name / f"{opt.phase}_{opt.which_epoch}{'_ema' if opt.use_ema else ''}"


def missing_pictures(opt, dataset) -> list[str]:
    folder = pictures_folder(opt) / "images" / "synthesized_image"
    count = int(min(len(dataset), opt.how_many))
    return [Path(path).stem for path in dataset.image_paths[:count] if not (folder / f"{Path(path).stem}.png").is_file()]


def check_checkpoint(opt, needed: bool) -> None:
    if not needed:
        return
    network = "G_ema" if opt.use_ema else "G"
    path = Path(opt.checkpoints_dir) / opt.name / f"{opt.which_epoch}_net_{network}.pth"
    if not path.is_file():
        raise UserError(f"{path} does not exist; check --name, --which_epoch and --checkpoints_dir "
                        f"(and --use_ema only for runs trained with --ema_decay).")


def evaluate_run(args, rest: list[str], name: str | None = None) -> dict:
    """Generate the run's pictures if needed, score them and write the tables beside them."""
    started = time.time()
    opt, argv = run_options(rest, args, name)
    wants_diversity = "diversity" in args.metrics and takes_random_styles(opt)
    seg_name = segmenter_name(args, opt.dataset_mode) if "seg" in args.metrics else None
    if seg_name:
        segmenters.check_weights_file(seg_name, args.seg_weights)
        if seg_name in segmenters.SEGMENTERS:
            _check_classes(segmenters.SEGMENTERS[seg_name].class_to_label, seg_name, opt)
    check_inception(args)
    if wants_diversity:
        lpips_diversity.alexnet_weights_path(args.lpips_weights)
    dataset = data.create_dataset(opt)
    missing = missing_pictures(opt, dataset)
    generate = args.regenerate or bool(missing)
    check_checkpoint(opt, generate or wants_diversity)

    if generate:
        import test as test_script

        what = "the pictures" if args.regenerate else f"{len(missing)} missing pictures"
        tqdm.write(f"generating {what} of {opt.name} with test.py")
        test_script.main(argv)
    folder = pictures_folder(opt)
    inception, segmenter = load_networks(args, opt.device, seg_name)
    if segmenter is not None:  # the toy segmenter's classes are known once its file is read
        _check_classes(segmenter.spec.class_to_label, seg_name, opt)
    scores = new_scores(args, inception, segmenter)
    loader = data.create_dataloader(opt, dataset)
    total = int(min(len(dataset), opt.how_many))
    done = 0
    with tqdm(total=total, desc=f"scoring {opt.name}", unit="img") as progress:
        for batch in loader:
            kept = min(len(batch["path"]), total - done)
            stems = [Path(path).stem for path in batch["path"][:kept]]
            generated = torch.stack([evaluation.read_picture(folder / "images" / "synthesized_image" / f"{stem}.png")
                                     for stem in stems])
            scores.add(generated, batch["image"][:kept], batch["label"][:kept])
            done += kept
            progress.update(kept)
            if done >= total:
                break
    row = {"run": opt.name, "weights": f"{opt.which_epoch}_net_{'G_ema' if opt.use_ema else 'G'}.pth",
           "pictures": str(folder / "images" / "synthesized_image"), "segmenter": seg_name,
           **scores.result()}
    if wants_diversity:
        row["diversity_lpips"] = run_diversity(args, opt, loader, total)
    row["seconds"] = round(time.time() - started, 1)
    row["table"] = str(evaluation_table.write_tables(folder, [row], RESULTS_STEM)[0])
    return row


def _check_classes(class_to_label, seg_name, opt):
    highest = max(label for label in class_to_label if label != segmenters.IGNORED)
    label_ids = opt.label_nc + (1 if opt.contain_dontcare_label else 0)
    if highest >= label_ids:
        raise UserError(f"--segmenter {seg_name} predicts label ids up to {highest} but the data has --label_nc "
                        f"{opt.label_nc}; use the segmenter of this dataset.")


def run_diversity(args, opt, loader, total: int) -> float:
    from models.pix2pix_model import Pix2PixModel
    from util.checkpoint import load_network

    model = Pix2PixModel(opt).to(opt.device).eval()
    if opt.use_ema:
        load_network(model.netG, "G_ema", opt.which_epoch, opt)
    lpips_model = lpips_diversity.load_lpips(args.lpips_weights or None, opt.device)
    torch.manual_seed(opt.seed)
    return evaluation.diversity(loader, lambda batch: random_style_pictures(model, batch), lpips_model,
                                args.diversity_samples, total)


# ---- plain folders -------------------------------------------------------------------------------
def evaluate_folders(args) -> dict:
    started = time.time()
    seg_name = segmenter_name(args, None) if "seg" in args.metrics else None
    args.metrics.discard("diversity")  # needs a generator
    generated_paths = fid.image_paths(args.generated)
    if args.metrics & {"fid", "kid"}:
        if not args.real:
            raise UserError("FID and KID need --real DIR (the real photos), or leave fid,kid out of --metrics.")
        real_paths = fid.image_paths(args.real)
    if seg_name:
        if not args.labels:
            raise UserError("--metrics seg needs --labels DIR (label maps named like the generated pictures).")
        label_paths = _labels_of(generated_paths, args.labels)
        segmenters.check_weights_file(seg_name, args.seg_weights)
    check_inception(args)
    gpu_ids = parse_gpu_ids(args.gpu_ids)
    device = f"cuda:{gpu_ids[0]}" if gpu_ids and torch.cuda.is_available() else "cpu"
    inception, segmenter = load_networks(args, device, seg_name)
    scores = new_scores(args, inception, segmenter)
    size = args.eval_batch_size
    with tqdm(total=len(generated_paths), desc="scoring pictures", unit="img") as progress:
        for start in range(0, len(generated_paths), size):
            chunk = range(start, min(start + size, len(generated_paths)))
            generated = [evaluation.read_picture(generated_paths[i]) for i in chunk]
            labels = [evaluation.read_label_map(label_paths[i]) for i in chunk] if segmenter else [None] * len(chunk)
            for group in _same_size_runs(generated):
                scores.add(torch.stack([generated[i] for i in group]), None,
                           torch.stack([labels[i] for i in group]) if segmenter else None)
            progress.update(len(chunk))
    if inception is not None:
        for start in tqdm(range(0, len(real_paths), size), desc="real photos", unit="batch"):
            real = [evaluation.read_picture(path) for path in real_paths[start:start + size]]
            for group in _same_size_runs(real):
                scores.add_real(torch.stack([real[i] for i in group]))
    row = {"run": str(args.generated), "pictures": str(args.generated), "segmenter": seg_name,
           **scores.result(), "seconds": round(time.time() - started, 1)}
    row["table"] = str(evaluation_table.write_tables(args.out or args.generated.parent, [row], RESULTS_STEM)[0])
    return row


def _same_size_runs(pictures: list) -> list[list[int]]:
    """Indices of consecutive pictures of the same size, so that each run stacks into one batch."""
    runs = []
    for index, picture in enumerate(pictures):
        if runs and pictures[runs[-1][-1]].shape == picture.shape:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


def _labels_of(generated_paths, label_folder: Path) -> list[Path]:
    if not label_folder.is_dir():
        raise UserError(f"--labels {label_folder} does not exist; check the path.")
    labels = {path.stem: path for path in label_folder.iterdir() if path.suffix.lower() == ".png"}
    missing = [path.name for path in generated_paths if path.stem not in labels]
    if missing:
        raise UserError(f"{len(missing)} generated pictures have no label map of the same name in {label_folder} "
                        f"(e.g. {missing[0]}); give the label maps they were generated from.")
    return [labels[path.stem] for path in generated_paths]


# ---- command -------------------------------------------------------------------------------------
@exits_on_user_error
def main(argv=None) -> list[dict]:
    args, rest = parse_args(sys.argv[1:] if argv is None else [str(arg) for arg in argv])
    if args.json and args.json.is_dir():
        raise UserError(f"--json {args.json} is a folder; give the path of the file to write.")
    if args.generated:
        rows = [evaluate_folders(args)]
    elif args.compare:
        rows = [evaluate_run(args, rest, name) for name in args.compare]
    else:
        rows = [evaluate_run(args, rest)]
    print(evaluation_table.markdown(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows[0] if len(rows) == 1 else rows, indent=2) + "\n")
    for row in rows:
        print(f"evaluated {evaluation_table.summary(row)} in {row['seconds']:.0f} s; table in {row['table']}")
    return rows


if __name__ == "__main__":
    main()
