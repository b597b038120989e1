"""The ``msanet`` command: one sub-command per pipeline stage.

Every user-caused problem is a ``MsanetError``: printed as one line ``msanet: error: ...`` on
stderr, exit code from the error class (docs/errors.md). Anything else is a bug and shows a
traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from msanet import __version__, discs
from msanet.device import DEVICES
from msanet.errors import ConfigError, ImageError, MsanetError


def cmd_inspect(args: argparse.Namespace) -> int:
    from msanet import bids, io

    volume = io.load_image(args.file, max_voxels=args.max_voxels)
    print(f"file:         {volume.path}")
    print(f"orientation:  {''.join(volume.original_axcodes)} (nibabel, axes point to) = {io.orientation_string(volume)} (SCT/FSLeyes, axes point from)")
    print(f"shape:        {' x '.join(str(s) for s in volume.original_shape)} voxels")
    zooms = [float(z) for z in volume.header.get_zooms()[:3]]
    print(f"spacing:      {' x '.join(f'{z:g}' for z in zooms)} mm")
    print(f"data type:    {volume.header.get_data_dtype()}")
    data = volume.read()  # reads every voxel: truncated files and NaN/Inf are caught here
    print(f"value range:  {data.min():g} .. {data.max():g}")
    label_path = Path(args.labels) if args.labels else bids.find_label_file(volume.path)
    is_label_file = any(s in volume.path.name for s in bids.LABEL_SUFFIXES)
    if is_label_file:
        label_path = volume.path
    elif data.min() == data.max():
        raise ImageError(f"{volume.path}: image is constant (all voxels {data.min():g}); nothing to label")
    if label_path is None:
        print("labels:       none found (give --labels FILE)")
        return 0
    labels = io.read_disc_labels(label_path, volume)
    print(f"labels:       {label_path} ({len(labels)} discs)")
    for value, ijk in labels.items():
        orig = volume.to_original_voxel(ijk)
        world = volume.to_world_mm(ijk)
        print(f"  {value:>3}  {discs.disc_name(value):<7} voxel ({', '.join(f'{v:g}' for v in orig)})  "
              f"world ({', '.join(f'{v:.1f}' for v in world)}) mm")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from msanet import io, qc
    from msanet.preprocess import PreprocessConfig, labels_to_pixels, preprocess_volume

    volume = io.load_image(args.image, max_voxels=args.max_voxels)
    cfg = PreprocessConfig(pixel_mm=args.pixel_mm, height=args.size[0], width=args.size[1])
    sag = preprocess_volume(volume, cfg)
    points = labels_to_pixels(sag, io.read_disc_labels(args.labels, volume)) if args.labels else {}
    title = args.title if args.title is not None else f"{volume.path.name}  (mid-sagittal slab x={sag.centre_x:g})"
    out = qc.draw_discs(sag.image, points, args.output, cfg.pixel_mm, title=title, overwrite=args.overwrite)
    print(f"wrote {out}")
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    from msanet import bids

    subjects = bids.find_subjects(args.bids, require_labels=True)
    splits = bids.make_splits(subjects, seed=args.seed, val_fraction=args.val, test_fraction=args.test, by_site=args.by_site)
    splits.save(args.output)
    print(f"wrote {args.output}: train {len(splits.train)}, val {len(splits.val)}, test {len(splits.test)} subjects"
          + (f"; test sites {', '.join(splits.test_sites)}" if splits.by_site else ""))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from msanet.train import TrainConfig, train

    base = TrainConfig.load(args.config).to_dict() if args.config else TrainConfig().to_dict()
    flags = {
        "bids": args.bids, "labels": args.labels, "out": args.out, "split": args.split, "epochs": args.epochs, "batch_size": args.batch_size,
        "lr": args.lr, "optimizer": args.optimizer, "seed": args.seed, "tau": args.tau, "beta": args.beta,
        "lambda_contrastive": args.lambda_contrastive, "threads": args.threads, "cache_dir": args.cache_dir,
        "max_train_items": args.max_train_items, "max_val_items": args.max_val_items, "sigma_mm": args.sigma_mm,
        "workers": args.workers, "precision": args.precision, "device": args.device,
        "init": args.init, "select": args.select, "any_sigma_mm": args.any_sigma_mm,
        "stop_after": args.stop_after, "unlabelled": args.unlabelled,
    }
    base.update({k: v for k, v in flags.items() if v is not None})
    if args.by_site:
        base["by_site"] = True
    if args.no_augment:
        base["augment"] = False
    if args.random_window:
        base["random_window"] = True
    if args.contrasts:
        base["contrasts"] = args.contrasts
    if args.extra_bids:
        base["extra_bids"] = args.extra_bids
    if args.extra_repeat:  # one number for every extra set, or one per set
        base["extra_repeat"] = args.extra_repeat[0] if len(args.extra_repeat) == 1 else args.extra_repeat
    if args.exclude_subjects:
        base["exclude_subjects"] = args.exclude_subjects
    if args.ignore_values:
        base["ignore_values"] = args.ignore_values
    for switch in ("mgca", "fusion", "contrastive"):
        if getattr(args, f"no_{switch}"):
            base["model"][switch] = False
    if args.any_disc:
        base["model"]["any_disc"] = True
    if args.no_zero_heads:
        base["model"]["zero_heads"] = False
    if args.out_stride is not None:
        base["model"]["out_stride"] = base["stride"] = args.out_stride
    for key in ("width", "depth", "embed_dim", "num_discs"):
        if getattr(args, key) is not None:
            base["model"][key] = getattr(args, key)
    if args.pixel_mm is not None:
        base["preprocess"]["pixel_mm"] = args.pixel_mm
    if args.size is not None:
        base["preprocess"]["height"], base["preprocess"]["width"] = args.size
    if not base.get("bids"):
        raise ConfigError("no data set: give --bids DIR (or 'bids:' in the config file)")
    cfg = TrainConfig.from_dict(base)
    summary = train(cfg, resume=args.resume, progress=not args.quiet, rank_digest=args.rank_digest)
    if summary["rank"] == 0:
        print(f"done: {summary['run_dir']} (best validation loss {summary['best_val_loss']:.4g})")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from msanet.predict import run_predict

    summary = run_predict(args.inputs, args.output, model=args.model, contrast=args.contrast, overwrite=args.overwrite,
                          max_voxels=args.max_voxels, progress=not args.quiet, threshold=args.threshold, device=args.device,
                          qc_gt=args.qc_gt)
    anchors = ", ".join(f"{name} {n}" for name, n in summary["anchors"].items() if n)
    kinds = ", ".join(f"{kind} {n}" for kind, n in summary["flags"].items())
    print(f"predicted {len(summary['done'])} image(s), skipped {len(summary['skipped'])} already done -> {args.output}; "
          f"QC page: {summary['qc_page']}" + (f"; discs named from: {anchors}" if anchors else "")
          + (f"; flagged for a look: {summary['flagged']} of {summary['images']} ({kinds})" if summary["flagged"] else "; no image flagged"))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from msanet.export import export_onnx

    r = export_onnx(args.onnx, model_path=args.model, overwrite=args.overwrite)
    print(f"wrote {r['onnx']} and {r['metadata']}: input {r['input_size'][0]}x{r['input_size'][1]}, "
          f"ONNX Runtime vs PyTorch max |difference| {r['max_abs_diff']:.2e}; batch-1 latency "
          f"{r['onnxruntime_ms']:.1f} ms (ONNX Runtime) vs {r['torch_ms']:.1f} ms (PyTorch, {r['threads']} threads)")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from msanet.evaluate import run_evaluate

    values = None if args.values is None else tuple(range(args.values[0], args.values[1] + 1))
    summary = run_evaluate(args.pred, args.gt, out_dir=args.output, radius_mm=args.radius_mm, values=values,
                           subjects=_split_subjects(args.split, args.part) if args.split else None, thresholds=args.thresholds)
    out = args.output or args.pred
    for contrast, spaces in sorted(summary["contrasts"].items()):
        m = spaces["2d"]
        print(f"{contrast}: DTT {m['dtt_mean']:.2f} +- {m['dtt_std']:.2f} mm (2D), FNR {m['fnr']:.3f}, FPR {m['fpr']:.3f}, "
              f"naming errors {m['naming_errors']}")
    for row in summary.get("thresholds", []):
        print(f"{row['contrast']} at threshold {row['threshold']:.2f}: found {row['tp']} of {row['n_gt']}, FPR {row['fpr']:.3f}")
    print(f"wrote {out}/evaluation.csv, summary.json, summary.md" + (", thresholds.csv" if args.thresholds else ""))
    return 0


def _thresholds(text: str) -> tuple[float, ...]:
    try:
        values = tuple(sorted({float(x) for x in text.split(",") if x.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None
    if not values or not all(0 <= v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: thresholds must be numbers in [0, 1]")
    return values


def _split_subjects(path: str, part: str) -> list[str]:
    from msanet.bids import Splits

    return list(getattr(Splits.load(path), part))


def cmd_report(args: argparse.Namespace) -> int:
    from msanet.report import write_report

    out = write_report(args.run_dir, args.output, eval_dir=args.eval, pred_dir=args.pred)
    print(f"wrote {out}")
    return 0


def _value_range(text: str) -> tuple[int, int]:
    try:
        lo, hi = (int(v) for v in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"value range {text!r} must look like 2-12") from None
    if not (discs.is_valid_value(lo) and discs.is_valid_value(hi) and lo <= hi):
        raise argparse.ArgumentTypeError(f"value range {text!r} must lie within 1-25")
    return lo, hi


def cmd_synth(args: argparse.Namespace) -> int:
    from msanet.synth import LR_EXTENT_MM, generate_dataset

    summary = generate_dataset(args.output, args.subjects, args.seed, domain_random=args.domain_random, n_sites=args.sites,
                               workers=args.workers, label_naming=args.label_naming, overwrite=args.overwrite, progress=not args.quiet,
                               scan_type=args.scan_type, clutter=args.clutter, level_random=args.level_random,
                               junction_random=args.junction_random, c2_disc_random=args.c2_disc_random,
                               t1w_marrow_random=args.t1w_marrow_random)
    kinds = ", ".join(f"{k} {n}" for k, n in summary["scan_types"].items())
    slab = f"; {LR_EXTENT_MM:g} mm left-right slab" if args.scan_type == "cervical" else ""
    print(f"wrote {summary['subjects']} subjects x 2 contrasts ({kinds}) from {summary['sites']} sites to {summary['root']} "
          f"({summary['bytes'] / 1e6:.1f} MB{slab})")
    return 0


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r} must look like 256x192") from None
    return h, w


def _int_list(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} must be comma-separated integers, e.g. 2 or 2,3") from None


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump), exit code 2 like ConfigError."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(ConfigError.exit_code, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="msanet", description="Find and name intervertebral discs on sagittal spine MRI (MSA-Net).")
    parser.add_argument("--version", action="version", version=f"msanet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("inspect", help="orientation, spacing, shape and disc labels of a NIfTI file")
    p.add_argument("file", help="image or disc-label NIfTI file")
    p.add_argument("--labels", help="disc-label file of the image (default: found under derivatives/labels)")
    p.add_argument("--max-voxels", type=int, default=200_000_000, help="refuse larger images (default: %(default)s)")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("show", help="draw the mid-sagittal slab of an image with its named discs (PNG)")
    p.add_argument("image")
    p.add_argument("--labels", help="disc-label file to draw")
    p.add_argument("-o", "--output", required=True, help="PNG file to write")
    p.add_argument("--pixel-mm", type=float, default=0.5, help="display pixel size in mm (default: %(default)s)")
    p.add_argument("--size", type=_size, default=(640, 480), help="display grid HxW in pixels (default: 640x480)")
    p.add_argument("--title", default=None)
    p.add_argument("--overwrite", action="store_true", help="replace an existing PNG")
    p.add_argument("--max-voxels", type=int, default=200_000_000)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("synth", help="write a synthetic Spine-Generic-like BIDS data set (T1w + T2w + disc labels)")
    p.add_argument("output", help="output folder (must be empty, or the same command's unfinished output)")
    p.add_argument("--subjects", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sites", type=int, default=42, help="number of Spine Generic sites used (default: %(default)s)")
    p.add_argument("--domain-random", action="store_true", help="random tissue intensities (contrast-agnostic training data)")
    p.add_argument("--clutter", action="store_true",
                   help="split the soft tissues into random blobs of random brightness (cervical scans, also those of a mixed set)")
    p.add_argument("--level-random", action="store_true",
                   help="vertebral and disc sizes and degeneration below C2 drawn apart from their level "
                        "(cervical scans, also those of a mixed set)")
    p.add_argument("--junction-random", action="store_true",
                   help="thoracic inlet, lordosis-kyphosis turn and spinous processes drawn apart from the C7-T1 level "
                        "(cervical scans, also those of a mixed set)")
    p.add_argument("--c2-disc-random", action="store_true",
                   help="with --level-random: the C2-C3 disc's height and degeneration drawn like the discs below it")
    p.add_argument("--t1w-marrow-random", action="store_true",
                   help="T1w marrow and discs drawn anywhere from fatty marrow and dark discs to dark marrow and bright discs, "
                        "as on the real T1w crop (cervical scans, also those of a mixed set)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: CPU count, at most 4)")
    p.add_argument("--label-naming", choices=["current", "old"], default="current",
                   help="_label-discs_dlabel (current) or _labels-disc-manual (older Spine Generic releases)")
    p.add_argument("--scan-type", choices=["cervical", "thoracic", "lumbar", "whole", "mixed"], default="cervical",
                   help="cervical: Spine Generic 3D (default); thoracic, lumbar: clinical 2D TSE, 3-4 mm sagittal slices; "
                        "whole: 2-3 composed stations, 600-900 mm; mixed: a type per subject at clinical proportions")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("split", help="deterministic train/val/test split of a BIDS data set (JSON)")
    p.add_argument("bids")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val", type=float, default=0.1, help="validation fraction")
    p.add_argument("--test", type=float, default=0.2, help="test fraction")
    p.add_argument("--by-site", action="store_true", help="hold out whole sites (institution_id)")
    p.set_defaults(func=cmd_split)

    p = sub.add_parser("train", help="train MSA-Net on a BIDS data set (also under torchrun for DDP)")
    p.add_argument("config", nargs="?", help="YAML config (keys of TrainConfig); flags override it")
    p.add_argument("--bids", help="BIDS data set (its disc labels under derivatives/labels unless --labels is given)")
    p.add_argument("--labels", help="derivatives folder holding the disc labels (sub-*/[ses-*/]anat/*_label-discs_dlabel.nii.gz), "
                                    "e.g. an 'msanet predict' output; default: BIDS/derivatives/labels")
    p.add_argument("--out", help="run folder (checkpoints, config, log.csv, curves.png)")
    p.add_argument("--split", help="split JSON from 'msanet split' (default: made from --seed)")
    p.add_argument("--by-site", action="store_true", help="hold out whole sites for val/test")
    p.add_argument("--contrasts", nargs="+", choices=["T1w", "T2w"])
    p.add_argument("--extra-bids", nargs="+", help="more labelled BIDS data sets, used for training only (e.g. real scans)")
    p.add_argument("--extra-repeat", type=int, nargs="+",
                   help="times each extra image is seen per epoch: one number for every set, or one per --extra-bids set (default 1)")
    p.add_argument("--exclude-subjects", nargs="+", help="subject ids left out of the extra data sets (leave-one-subject-out)")
    p.add_argument("--init", help="checkpoint to start from (fine-tuning; same model config)")
    p.add_argument("--select", choices=["val_loss", "last"], help="best.safetensors: lowest validation loss (default) or the last epoch")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--optimizer", choices=["adam", "rmsprop"])
    p.add_argument("--seed", type=int)
    p.add_argument("--tau", type=float, help="contrastive temperature")
    p.add_argument("--beta", type=float, help="prototype separation weight")
    p.add_argument("--lambda-contrastive", type=float)
    p.add_argument("--sigma-mm", type=float, help="heatmap Gaussian sigma in mm")
    p.add_argument("--no-mgca", action="store_true", help="ablation: no M-GCA modules")
    p.add_argument("--no-fusion", action="store_true", help="ablation: no multi-scale attention fusion")
    p.add_argument("--no-contrastive", action="store_true", help="ablation: no prototype contrastive loss")
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--random-window", action="store_true", help="train on windows anywhere along each scan's column, not only "
                                                                "its centred window (thoracic, lumbar and whole-spine scans)")
    p.add_argument("--no-zero-heads", action="store_true", help="ablation: PyTorch's default init of the heatmap heads instead of zero "
                   "(benchmarks/results/diagnosis.md)")
    p.add_argument("--width", type=int, help="model width (channels; default 114 = 2.98 M parameters)")
    p.add_argument("--depth", type=int, help="hourglass depth (default 4)")
    p.add_argument("--embed-dim", type=int, help="contrastive embedding size (default 64)")
    p.add_argument("--num-discs", type=int, help="disc channels: 11 (default, the paper's Spine Generic C1-C2 .. T4-T5) "
                                                 "up to 24 (the whole column, C1-C2 .. L5-S1)")
    p.add_argument("--stop-after", type=int, help="end after this many epochs; the learning-rate schedule still spans --epochs "
                                                   "(a time-boxed run; --resume with a larger value continues it)")
    p.add_argument("--unlabelled", choices=["unknown", "background"],
                   help="a real data set's unlabelled discs (its label files name a range of the discs its images show): "
                        "unknown, left out of the loss (default), or background (the paper's target)")
    p.add_argument("--ignore-values", type=_int_list, metavar="V[,V...]",
                   help="SCT values whose labels are dropped, so those discs train as background, e.g. 2 (C1-C2: the dens base, "
                        "not a disc; the real amu_t2w labels never name it)")
    p.add_argument("--any-disc", action="store_true", help="add the class-agnostic 'any disc' channel (not in the paper): "
                                                           "discs are placed by its peaks and named by anatomical order")
    p.add_argument("--any-sigma-mm", type=float, help="Gaussian sigma of the 'any disc' target in mm (default 6)")
    p.add_argument("--out-stride", type=int, choices=[4, 2, 1], help="grid of the final heatmaps in input pixels: 4 (default, "
                                                                      "the paper's), or 2 / 1 with an upsampling head")
    p.add_argument("--pixel-mm", type=float, help="input grid pixel size in mm")
    p.add_argument("--size", type=_size, help="input grid HxW in pixels, e.g. 256x192")
    p.add_argument("--threads", type=int)
    p.add_argument("--device", choices=DEVICES, help="auto (default: a CUDA GPU when there is one), cpu or cuda")
    p.add_argument("--workers", type=int, help="data loader worker processes")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"],
                   help="forward-pass precision: auto = bfloat16 autocast where the CPU/GPU has it natively (default)")
    p.add_argument("--cache-dir", help="preprocessed-array cache (default ~/.cache/msanet/preprocessed)")
    p.add_argument("--max-train-items", type=int)
    p.add_argument("--max-val-items", type=int)
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--rank-digest", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="label the discs of NIfTI files, folders or BIDS data sets")
    p.add_argument("inputs", nargs="+", help="NIfTI file(s), folder(s) or a BIDS data set")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--model", help="checkpoint (.safetensors with its .json) or run folder; default: bundled model")
    p.add_argument("--contrast", default="auto", choices=["auto", "T1w", "T2w"], help="contrast (default: from the file name)")
    p.add_argument("--overwrite", action="store_true", help="redo images whose outputs exist")
    p.add_argument("--threshold", type=float, help="confidence threshold in [0, 1] (default: the model's calibrated one)")
    p.add_argument("--qc-gt", action="store_true",
                   help="also draw each image's ground-truth disc labels (BIDS derivatives/labels), where it has them, on its QC picture")
    p.add_argument("--max-voxels", type=int, default=200_000_000, help="refuse larger images (default: %(default)s)")
    p.add_argument("--device", default="auto", choices=DEVICES, help="auto (default: a CUDA GPU when there is one), cpu or cuda")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="score predicted disc labels against a labelled BIDS data set")
    p.add_argument("--pred", required=True, help="folder with *_label-discs_dlabel.nii.gz predictions")
    p.add_argument("--gt", required=True, help="BIDS data set with derivatives/labels, or a derivatives folder of disc-label files "
                                                "(BIDS/derivatives/labels, a predict output)")
    p.add_argument("-o", "--output", help="folder for evaluation.csv / summary.json / summary.md (default: --pred)")
    p.add_argument("--radius-mm", type=float, default=5.0, help="match radius R for FN/FP (default: %(default)s)")
    p.add_argument("--values", type=_value_range, help="SCT values scored, e.g. 2-12 (default: the values the predictions' model "
                                                     "names, as their _discs.json record: 2-12 for 11 channels, 2-25 for 24)")
    p.add_argument("--split", help="split JSON: score only one part of it")
    p.add_argument("--part", default="test", choices=["train", "val", "test"])
    p.add_argument("--thresholds", type=_thresholds, help="comma-separated confidence thresholds, e.g. 0.1,0.2,0.3: score the "
                                                          "predictions kept at each (predict with --threshold 0 first)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("export", help="export a model to ONNX and check it against ONNX Runtime (needs msanet[onnx])")
    p.add_argument("--onnx", required=True, metavar="OUT.onnx", help="ONNX file to write (metadata beside it as OUT.json)")
    p.add_argument("--model", help="checkpoint (.safetensors with its .json) or run folder; default: bundled model")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUT.onnx")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("report", help="one offline HTML page for a run: tables, curves, per-disc errors, best/worst cases")
    p.add_argument("run_dir")
    p.add_argument("-o", "--output", help="HTML file (default: RUN_DIR/report.html)")
    p.add_argument("--eval", help="evaluation folder (default: RUN_DIR/eval)")
    p.add_argument("--pred", help="prediction folder with QC pictures (default: RUN_DIR/pred)")
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (already printed as one line)
        return int(exc.code or 0)
    try:
        return int(args.func(args) or 0)
    except MsanetError as exc:
        print(f"msanet: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ValueError as exc:  # argument validation inside configs
        print(f"msanet: error: {exc}", file=sys.stderr)
        return ConfigError.exit_code
    except KeyboardInterrupt:
        print("msanet: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
