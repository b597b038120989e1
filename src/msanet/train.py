"""Training: ``msanet train [CONFIG.yaml] [--flags]``, single process or under ``torchrun``.

One loop, top to bottom (nanoGPT style):
  split subjects -> cached samples -> (augment -> heatmaps) -> MSA-Net -> MSE (+ lambda * contrastive)
  -> Adam/RMSprop step -> per epoch: validation loss + DTT/FN/FP (decoded peaks) -> checkpoints.

Run folder::

    config.yaml          the full TrainConfig (model + preprocessing + augmentation)
    split.json           the subject split used
    last.safetensors/.json   weights at the end of the latest finished epoch
    last.state.pt            the same weights + optimizer + RNG state, one atomic file (for --resume)
    best.safetensors/.json                  lowest validation loss so far, or the last epoch with select: last
                                            (threshold calibrated)
    log.csv, curves.png                     losses and validation metrics per epoch

Determinism: the shuffle order, augmentation and contrastive pixel sampling are all seeded from
``(seed, epoch, ...)`` or restored from the checkpoint, so a run killed at any point (SIGKILL
included) and resumed with ``--resume`` ends with bit-identical weights on CPU.

Multi-process: under ``torchrun --nproc_per_node=N`` the same command uses DistributedDataParallel
(gloo on CPU, nccl on GPU) with a DistributedSampler; only rank 0 writes files.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io as _io
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import yaml
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from msanet import bids, discs
from msanet.augment import AugmentConfig
from msanet.checkpoint import load_checkpoint, save_checkpoint
from msanet.dataset import DiscDataset, items_from_subjects
from msanet.decode import calibrate_threshold, decode_outputs
from msanet.device import DEVICES, resolve_device
from msanet.errors import ConfigError, DatasetError, InputNotFoundError, ModelError
from msanet.fileio import atomic_path, ensure_dir, write_text
from msanet.losses import PrototypeContrastiveLoss, heatmap_mse, total_loss
from msanet.metrics import aggregate, label_matched
from msanet.model.msanet import MSANet, MSANetConfig
from msanet.precision import PRECISIONS, autocast, resolve_precision
from msanet.preprocess import PreprocessConfig
from msanet.windows import windowed_heatmaps

LOG_COLUMNS = ["epoch", "step", "lr", "train_loss", "train_mse", "train_contrastive", "val_loss", "val_dtt_mm", "val_fnr", "val_fpr", "seconds"]


@dataclass
class TrainConfig:
    """Everything a training run depends on; saved as ``config.yaml`` in the run folder.

    Optimiser: Adam (default) or RMSprop, lr 2.5e-4 (the paper's anchors), cosine decay to
    ``lr * min_lr_ratio`` over ``epochs``, batch 16. Loss = MSE over all heatmap outputs +
    ``lambda_contrastive`` * prototype contrastive loss (when ``model.contrastive``).
    Extra data: ``extra_bids`` are labelled data sets (real scans, another synthetic set) whose images
    all go to training, ``extra_repeat`` times each per epoch (one number for every set, or a list with one per set),
    except the subjects in
    ``exclude_subjects`` (so a held-out real scan never trains the model that scores it); the split,
    validation and threshold calibration use ``bids`` alone. ``init`` starts from a checkpoint's weights;
    ``select: last`` makes ``best.safetensors`` the last epoch's weights (when the validation set does not
    measure what the run is for, e.g. real scans added to synthetic training).
    Partial labels: a data set not made by ``msanet synth`` (``bids.labels_complete``) labels some of the discs its
    images show. With ``unlabelled: unknown`` (default) its unlabelled discs are left out of the loss
    (``dataset.DiscDataset``); ``background`` trains them as background, as the paper's target does.
    ``ignore_values``: SCT values whose labels are dropped from training and validation (``dataset.DiscDataset``).
    Long scans: ``random_window`` trains on ``preprocess.height``-row windows anywhere along each scan's column
    (``dataset.DiscDataset``) instead of its centred window only; validation then measures its loss on the centred window
    and decodes (metrics, threshold calibration) the whole column (``validation_heatmaps``).
    Speed: ``precision`` (``msanet.precision``: auto = bfloat16 autocast where the hardware has it
    natively) and ``channels_last`` (NHWC memory layout, faster convolutions on CPU); neither
    changes the model or the checkpoint.
    """

    bids: str = ""
    labels: str | None = None  # derivatives folder with the disc labels; None: bids/derivatives/labels
    out: str = "runs/msanet"
    split: str | None = None
    by_site: bool = False
    contrasts: list[str] = field(default_factory=lambda: ["T1w", "T2w"])
    epochs: int = 30
    batch_size: int = 16
    optimizer: str = "adam"
    lr: float = 2.5e-4
    min_lr_ratio: float = 0.05
    weight_decay: float = 0.0
    seed: int = 0
    sigma_mm: float = 5.0
    any_sigma_mm: float = 6.0  # target of the "any disc" channel (model.any_disc), narrower so neighbours stay apart
    stride: int = 4  # grid of the target heatmaps: the model's out_stride
    tau: float = 0.1
    beta: float = 0.1
    lambda_contrastive: float = 0.001  # the contrastive loss is O(1), the mean-over-pixels MSE O(1e-3): 0.1 let it drown the MSE (diagnosis.md)
    augment: bool = True
    max_train_items: int | None = None
    max_val_items: int | None = None
    threads: int | None = None
    device: str = "auto"  # auto (a CUDA GPU when there is one), cpu or cuda
    cache_dir: str | None = None
    workers: int = 0
    precision: str = "auto"
    channels_last: bool = True
    extra_bids: list[str] = field(default_factory=list)  # more labelled data sets, training only (e.g. real scans)
    extra_repeat: int | list[int] = 1  # each extra image is seen this many times per epoch (a list: one per extra set)
    exclude_subjects: list[str] = field(default_factory=list)  # subject ids left out of the extra sets (leave-one-out)
    init: str | None = None  # checkpoint whose weights start the run (fine-tuning); its model config must match
    select: str = "val_loss"  # best.safetensors: lowest validation loss ('val_loss') or the last epoch ('last')
    stop_after: int | None = None  # end the run after this many epochs; the schedule still spans ``epochs`` (resumable)
    random_window: bool = False  # training windows anywhere along a long scan (else the centred window)
    unlabelled: str = "unknown"  # a real data set's unlabelled discs: 'unknown' (left out of the loss) or 'background'
    ignore_values: list[int] = field(default_factory=list)  # SCT values whose labels are dropped (trained as background), e.g. [2]
    model: MSANetConfig = field(default_factory=MSANetConfig)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    augmentation: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs={self.epochs} must be >= 1")
        if self.batch_size < 1:
            raise ValueError(f"batch_size={self.batch_size} must be >= 1")
        if self.optimizer not in ("adam", "rmsprop"):
            raise ValueError(f"optimizer={self.optimizer!r} must be 'adam' or 'rmsprop'")
        if not self.any_sigma_mm > 0:
            raise ValueError(f"any_sigma_mm={self.any_sigma_mm} must be > 0")
        if not self.lr > 0:
            raise ValueError(f"lr={self.lr} must be > 0")
        if self.stop_after is not None and not 1 <= self.stop_after <= self.epochs:
            raise ValueError(f"stop_after={self.stop_after} must be in 1..epochs ({self.epochs})")
        if self.select not in ("val_loss", "last"):
            raise ValueError(f"select={self.select!r} must be 'val_loss' or 'last'")
        if self.unlabelled not in ("unknown", "background"):
            raise ValueError(f"unlabelled={self.unlabelled!r} must be 'unknown' or 'background'")
        bad = [v for v in self.ignore_values if not discs.is_valid_value(v)]
        if bad:  # here, before a run folder is made; DiscDataset checks again for its direct callers
            raise ValueError(f"ignore_values={self.ignore_values!r}: {bad[0]!r} is not an SCT disc value ({discs.MIN_VALUE}..{discs.MAX_VALUE})")
        repeats = self.extra_repeat if isinstance(self.extra_repeat, list) else [self.extra_repeat]
        if isinstance(self.extra_repeat, list) and len(repeats) != len(self.extra_bids):
            raise ValueError(f"extra_repeat={self.extra_repeat} must give one number per extra_bids set ({len(self.extra_bids)})")
        if any(r < 1 for r in repeats):
            raise ValueError(f"extra_repeat={self.extra_repeat} must be >= 1")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision={self.precision!r} must be one of {', '.join(PRECISIONS)}")
        if self.device not in DEVICES:
            raise ValueError(f"device={self.device!r} must be one of {', '.join(DEVICES)}")
        for c in self.contrasts:
            if c not in bids.CONTRASTS:
                raise ValueError(f"unknown contrast {c!r} (expected T1w or T2w)")
        if self.stride != self.model.out_stride:
            raise ValueError(f"stride={self.stride} must equal the model's out_stride={self.model.out_stride} (the heatmaps' grid)")
        size_unit = self.model.size_unit
        if self.preprocess.height % size_unit or self.preprocess.width % size_unit:
            raise ValueError(
                f"image size {self.preprocess.height}x{self.preprocess.width} must be divisible by {size_unit} "
                f"(the model's stride 4 x 2**depth {self.model.depth})"
            )

    def extra_repeats(self) -> list[int]:
        """How many times per epoch each ``extra_bids`` set's images are seen, one number per set."""
        return list(self.extra_repeat) if isinstance(self.extra_repeat, list) else [self.extra_repeat] * len(self.extra_bids)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["model"] = self.model.to_dict()
        d["preprocess"] = self.preprocess.to_dict()
        d["augmentation"] = dataclasses.asdict(self.augmentation)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Build from a plain dict; unknown keys and wrong types raise ConfigError naming them."""
        if not isinstance(d, dict):
            raise ConfigError(f"config must be a mapping, got {type(d).__name__}")
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(unknown)}")
        kwargs = dict(d)
        try:
            if "model" in kwargs:
                kwargs["model"] = MSANetConfig.from_dict(dict(kwargs["model"]))
            if "preprocess" in kwargs:
                kwargs["preprocess"] = PreprocessConfig.from_dict(dict(kwargs["preprocess"]))
            if "augmentation" in kwargs:
                aug = dict(kwargs["augmentation"])
                bad = sorted(set(aug) - {f.name for f in dataclasses.fields(AugmentConfig)})
                if bad:
                    raise ConfigError(f"unknown augmentation keys: {', '.join(bad)}")
                kwargs["augmentation"] = AugmentConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in aug.items()})
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid config: {exc}") from None
        _check_types(kwargs, known)
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid config: {exc}") from None

    @classmethod
    def load(cls, path: str | Path) -> "TrainConfig":
        path = Path(path)
        try:
            d = yaml.safe_load(path.read_text())
        except FileNotFoundError:
            raise InputNotFoundError(f"{path}: no such config file") from None
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        try:
            return cls.from_dict(d or {})
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None

    def save(self, path: str | Path) -> None:
        write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False))


_SCALAR_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}


def _check_types(kwargs: dict, known: dict) -> None:
    """Reject values of the wrong type (YAML '1e-3' as a string, 'yes' for an int...)."""
    for name, value in kwargs.items():
        annotation = str(known[name].type)
        if value is None and "None" in annotation:
            continue
        bases = [a.strip() for a in annotation.split("|") if a.strip() != "None"]  # e.g. "int | list[int]": either
        scalars = [b for b in bases if b in _SCALAR_TYPES]
        lists = [b for b in bases if b.startswith("list")]
        if isinstance(value, list):
            ok = bool(lists)
        elif scalars:
            ok = any(isinstance(value, _SCALAR_TYPES[b]) and not (b in ("int", "float") and isinstance(value, bool)) for b in scalars)
        else:
            ok = not lists  # a nested config (model, preprocess, augmentation): checked by its own class
        if not ok:
            raise ConfigError(f"config key {name!r} must be {' or '.join(bases)}, got {value!r}")


# ---- distributed helpers ------------------------------------------------------------------------


@dataclass
class Dist:
    rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: str = "auto") -> Dist:
    """The device (``msanet.device.resolve_device``) and, when launched by torchrun (WORLD_SIZE > 1),
    torch.distributed: nccl with one GPU per process on CUDA, gloo on the CPU."""
    chosen = resolve_device(device)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(device=chosen)
    backend = "nccl" if chosen.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    rank = dist.get_rank()
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if backend == "nccl" else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return Dist(rank=rank, world_size=world, device=device)


def state_digest(model: torch.nn.Module) -> str:
    """SHA-256 of all parameters and buffers (to compare weights across ranks or runs)."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


# ---- the loop -------------------------------------------------------------------------------------


def _lr_at(cfg: TrainConfig, epoch: int) -> float:
    """Cosine decay from lr to lr * min_lr_ratio over the epochs (constant when epochs == 1)."""
    if cfg.epochs == 1:
        return cfg.lr
    t = epoch / (cfg.epochs - 1)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


def _make_optimizer(cfg: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def _partial(cfg: TrainConfig, root: str) -> bool:
    """Whether the labels of data set ``root`` are read as partial (``TrainConfig`` docstring)."""
    return cfg.unlabelled == "unknown" and not bids.labels_complete(root)


def _datasets(cfg: TrainConfig, run_dir: Path, d: Dist) -> tuple[DiscDataset, DiscDataset, bids.Splits]:
    subjects = bids.find_subjects(cfg.bids, contrasts=tuple(cfg.contrasts), require_labels=True, labels=cfg.labels)
    split_path = run_dir / "split.json"
    if cfg.split:
        splits = bids.Splits.load(cfg.split)
    elif split_path.exists():
        splits = bids.Splits.load(split_path)
    else:
        splits = bids.make_splits(subjects, seed=cfg.seed, by_site=cfg.by_site)
    if d.main:
        splits.save(split_path)
    partial = _partial(cfg, cfg.bids)
    train_items = items_from_subjects(subjects, splits.train, cfg.contrasts, partial)[: cfg.max_train_items]
    val_items = items_from_subjects(subjects, splits.val, cfg.contrasts, partial)[: cfg.max_val_items]
    excluded = set(cfg.exclude_subjects)
    for extra, repeat in zip(cfg.extra_bids, cfg.extra_repeats()):
        extra_subjects = [s for s in bids.find_subjects(extra, contrasts=tuple(cfg.contrasts), require_labels=True) if s.subject_id not in excluded]
        train_items += items_from_subjects(extra_subjects, None, cfg.contrasts, _partial(cfg, extra)) * repeat
    if not train_items:
        raise DatasetError(f"{cfg.bids}: no labelled training images in the split")
    cache = cfg.cache_dir or os.environ.get("MSANET_CACHE") or str(Path.home() / ".cache" / "msanet" / "preprocessed")
    common = dict(cfg=cfg.preprocess, num_discs=cfg.model.num_discs, stride=cfg.stride, sigma_mm=cfg.sigma_mm, cache_dir=cache,
                  any_disc=cfg.model.any_disc, any_sigma_mm=cfg.any_sigma_mm, ignore_values=cfg.ignore_values)
    train_set = DiscDataset(train_items, augment_cfg=cfg.augmentation if cfg.augment else None, seed=cfg.seed,
                            random_window=cfg.random_window, **common)
    val_set = DiscDataset(val_items, augment_cfg=None, seed=cfg.seed, random_window=cfg.random_window, **common)
    return train_set, val_set, splits


@torch.no_grad()
def validation_heatmaps(model: torch.nn.Module, dataset: DiscDataset, index: int, cfg: TrainConfig, output=None) -> tuple[np.ndarray, dict]:
    """The heatmaps ``[K, h, w]`` that validation decodes for image ``index``, and its disc points in the same frame, in mm.

    The centred training window (``output``: the model's output on it, when already computed), or with
    ``dataset.random_window`` the whole column in training-size windows (``windows.windowed_heatmaps``, as ``msanet predict``
    reads a scan): a centred window of a long scan has no anchor (neither C2 nor the sacrum) to name its discs by.
    """
    sample = dataset.sample(index)
    values = set(discs.channel_values(cfg.model.num_discs))
    gt = {v: p * cfg.preprocess.pixel_mm for v, p in sample.points.items() if v in values}
    if not dataset.random_window:
        if output is None:
            output = model(dataset[index][0][None].to(next(model.parameters()).device))
        return output.heatmaps[0].float().cpu().numpy(), gt
    column = np.pad(sample.image, ((0, (-sample.image.shape[0]) % cfg.stride), (0, 0)))  # [H' + pad, W]: whole output pixels
    heat = windowed_heatmaps(model, column, (cfg.preprocess.height, cfg.preprocess.width), cfg.stride)  # [K, H'/s, W/s]
    return heat, gt


@torch.no_grad()
def evaluate_heatmaps(model: torch.nn.Module, dataset: DiscDataset, cfg: TrainConfig, device: torch.device, threshold: float | None = None):
    """Validation: mean MSE (on the centred window), and per image decoded peaks (``validation_heatmaps``) vs ground
    truth in 2D mm.

    Returns (mean_loss, metrics dict from ``metrics.aggregate`` or None when empty, candidates)
    where candidates are (confidence, is_correct) pairs for threshold calibration.
    """
    model.eval()
    values = discs.channel_values(cfg.model.num_discs)
    losses, results, candidates = [], [], []
    for index in range(len(dataset)):
        image, target, weight, _ = dataset[index]
        output = model(image[None].to(device))
        losses.append(float(heatmap_mse(output, target[None].to(device), weight[None].to(device))))
        heat, gt = validation_heatmaps(model, dataset, index, cfg, output)  # [K, h, w], {value: (row, col) mm}
        all_dets = decode_outputs(heat, values, cfg.model.any_disc, stride=cfg.stride, threshold=0.0, pixel_mm=cfg.preprocess.pixel_mm)
        for det in all_dets:
            ok = det.value in gt and float(np.linalg.norm(np.array([det.row, det.col]) * cfg.preprocess.pixel_mm - gt[det.value])) <= 5.0
            candidates.append((det.confidence, ok))
        t = 0.3 if threshold is None else threshold
        pred = [(det.value, np.array([det.row, det.col]) * cfg.preprocess.pixel_mm) for det in all_dets if det.confidence >= t]
        results.append(label_matched(gt, pred))
    model.train()
    if not losses:
        return float("nan"), None, candidates
    return float(np.mean(losses)), aggregate(results), candidates


def _plot_curves(log_path: Path, png_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(log_path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    ep = [int(r["epoch"]) for r in rows]
    col = lambda k: [float(r[k]) if r[k] not in ("", "nan") else np.nan for r in rows]  # noqa: E731
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100)
    axes[0].plot(ep, col("train_loss"), label="train loss")
    axes[0].plot(ep, col("train_mse"), label="train MSE")
    axes[0].plot(ep, col("val_loss"), label="val MSE")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("epoch")
    axes[0].legend(fontsize=8)
    axes[1].plot(ep, col("val_dtt_mm"), "o-", label="val DTT (mm, 2D)")
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("mm")
    ax2 = axes[1].twinx()
    ax2.plot(ep, col("val_fnr"), "s--", color="tab:red", label="val FNR")
    ax2.plot(ep, col("val_fpr"), "^--", color="tab:green", label="val FPR")
    ax2.set_ylim(0, 1)
    axes[1].legend(loc="upper left", fontsize=8)
    ax2.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def _append_log(path: Path, row: dict) -> None:
    """Rewrite log.csv atomically with one more row (never a half-written line)."""
    rows = []
    if path.exists():
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    rows = [r for r in rows if int(r["epoch"]) < int(row["epoch"])] + [row]
    buf = _io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=LOG_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buf.getvalue())


def _load_init(model: MSANet, cfg: TrainConfig) -> None:
    """Start from the weights of checkpoint ``cfg.init``; its model and preprocessing must match the run's."""
    ckpt = load_checkpoint(cfg.init)
    if ckpt.model_config != cfg.model:
        raise ConfigError(f"{cfg.init}: its model config differs from this run's ({ckpt.model_config} vs {cfg.model})")
    if ckpt.preprocess != cfg.preprocess:
        raise ConfigError(f"{cfg.init}: its preprocessing differs from this run's ({ckpt.preprocess} vs {cfg.preprocess})")
    model.load_state_dict(ckpt.model.state_dict())


def _save_state(run_dir: Path, name: str, model, cfg: TrainConfig, optimizer, epoch: int, step: int, best: float, threshold: float, extra: dict) -> None:
    raw = model.module if isinstance(model, DistributedDataParallel) else model
    meta = {"epoch": epoch, "step": step, "best_val_loss": best, "train_config": cfg.to_dict(), **extra}
    save_checkpoint(run_dir / f"{name}.safetensors", raw, cfg.model, cfg.preprocess, threshold=threshold, stride=cfg.stride, sigma_mm=cfg.sigma_mm, extra=meta)
    if optimizer is not None:  # one file, written atomically: weights, optimizer and RNG always agree
        state = {"model": raw.state_dict(), "optimizer": optimizer.state_dict(), "torch_rng": torch.get_rng_state(),
                 "epoch": epoch, "step": step, "best": best, "threshold": threshold}
        with atomic_path(run_dir / f"{name}.state.pt") as tmp:
            torch.save(state, tmp)


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True, rank_digest: bool = False) -> dict:
    """Train; returns a summary dict (run dir, epochs, best val loss, final weights digest)."""
    d = setup_distributed(cfg.device)
    try:
        return _train(cfg, d, resume, progress, rank_digest)
    finally:
        if d.world_size > 1 and dist.is_initialized():
            dist.destroy_process_group()


def _train(cfg: TrainConfig, d: Dist, resume: bool, progress: bool, rank_digest: bool) -> dict:
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    run_dir = Path(cfg.out)
    if d.main:
        ensure_dir(run_dir)
        if not resume and (run_dir / "last.safetensors").exists():
            raise ConfigError(f"{run_dir}: already holds a run (use --resume to continue it, or another --out)")
        cfg.save(run_dir / "config.yaml")
    torch.manual_seed(cfg.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    train_set, val_set, _ = _datasets(cfg, run_dir, d)
    model = MSANet(cfg.model).to(d.device)
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    precision = resolve_precision(cfg.precision, d.device)
    if cfg.init and not resume:
        _load_init(model, cfg)
    optimizer = _make_optimizer(cfg, model)
    start_epoch, step, best, threshold = 0, 0, math.inf, 0.3
    if resume and (run_dir / "last.state.pt").exists():
        try:
            state = torch.load(run_dir / "last.state.pt", weights_only=True, map_location=d.device)  # no pickled code is executed
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, OSError, ValueError, KeyError, EOFError) as exc:
            raise ModelError(f"{run_dir / 'last.state.pt'}: cannot resume, checkpoint unreadable or from another config ({str(exc)[:100]})") from None
        torch.set_rng_state(state["torch_rng"])
        start_epoch, step, best = int(state["epoch"]) + 1, int(state["step"]), float(state["best"])
        threshold = float(state.get("threshold", 0.3))
    if d.world_size > 1:
        model = DistributedDataParallel(model)
    contrastive = PrototypeContrastiveLoss(tau=cfg.tau, beta=cfg.beta) if cfg.model.contrastive else None
    sampler = DistributedSampler(train_set, num_replicas=d.world_size, rank=d.rank, shuffle=True, seed=cfg.seed) if d.world_size > 1 else None
    log_path = run_dir / "log.csv"
    for epoch in range(start_epoch, cfg.stop_after or cfg.epochs):
        t0 = time.time()
        train_set.set_epoch(epoch)
        if sampler is not None:
            sampler.set_epoch(epoch)
            loader = DataLoader(train_set, batch_size=cfg.batch_size, sampler=sampler, num_workers=cfg.workers)
        else:
            order = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
            loader = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True, generator=order, num_workers=cfg.workers)
        lr = _lr_at(cfg, epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        model.train()
        sums = {"loss": 0.0, "mse": 0.0, "contrastive": 0.0}
        n = 0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not (progress and d.main), leave=False)
        for images, targets, weights, known in bar:
            images = images.to(d.device, memory_format=memory_format)  # [B, 1, H, W]
            targets, weights, known = targets.to(d.device), weights.to(d.device), known.to(d.device)  # [B, K, h, w] x2, [B, h, w]
            with autocast(precision, d.device):
                output = model(images)
            loss, parts = total_loss(output.float(), targets, contrastive, cfg.lambda_contrastive, cfg.model.num_discs,
                                     weights, known)  # float32
            if not torch.isfinite(loss):
                raise ConfigError(f"training diverged at epoch {epoch + 1} (loss {float(loss)}); lower --lr")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            n += 1
            sums["loss"] += float(loss.detach())
            sums["mse"] += parts["mse"]
            sums["contrastive"] += parts["contrastive"]
            bar.set_postfix(loss=f"{sums['loss'] / n:.4g}")
        if d.world_size > 1:  # BatchNorm running stats are updated locally after DDP's broadcast: take rank 0's
            for buffer in model.module.buffers():
                dist.broadcast(buffer, src=0)
        if d.main:
            raw = model.module if isinstance(model, DistributedDataParallel) else model
            val_loss, val_metrics, candidates = evaluate_heatmaps(raw, val_set, cfg, d.device)
            improved = val_loss < best or (math.isnan(val_loss) and epoch == cfg.epochs - 1) or cfg.select == "last"
            if improved:
                best = val_loss if not math.isnan(val_loss) else best
                threshold = calibrate_threshold([c for c, _ in candidates], [ok for _, ok in candidates]) if candidates else 0.3
                _save_state(run_dir, "best", model, cfg, None, epoch, step, best, threshold, {"val": val_metrics})
            row = {
                "epoch": epoch + 1, "step": step, "lr": f"{lr:.6g}", "train_loss": f"{sums['loss'] / max(n, 1):.6g}",
                "train_mse": f"{sums['mse'] / max(n, 1):.6g}", "train_contrastive": f"{sums['contrastive'] / max(n, 1):.6g}",
                "val_loss": f"{val_loss:.6g}", "val_dtt_mm": f"{(val_metrics or {}).get('dtt_mean', float('nan')):.4g}",
                "val_fnr": f"{(val_metrics or {}).get('fnr', float('nan')):.4g}", "val_fpr": f"{(val_metrics or {}).get('fpr', float('nan')):.4g}",
                "seconds": f"{time.time() - t0:.1f}",
            }
            # the log row goes first: a run killed between the two redoes this epoch and rewrites its row,
            # the other order could leave a resumable state whose epoch has no row
            _append_log(log_path, row)
            _save_state(run_dir, "last", model, cfg, optimizer, epoch, step, best, threshold, {"val": val_metrics})
            _plot_curves(log_path, run_dir / "curves.png")
            if progress:
                print(f"epoch {epoch + 1}/{cfg.epochs}  loss {row['train_loss']}  val {row['val_loss']}  "
                      f"DTT {row['val_dtt_mm']} mm  FNR {row['val_fnr']}  FPR {row['val_fpr']}  ({row['seconds']} s)", flush=True)
        if d.world_size > 1:
            dist.barrier()
    raw = model.module if isinstance(model, DistributedDataParallel) else model
    digest = state_digest(raw)
    if rank_digest:
        write_text(run_dir / f"rank{d.rank}.digest", digest + "\n")
    return {"run_dir": str(run_dir), "epochs": cfg.epochs, "best_val_loss": best, "digest": digest, "rank": d.rank}
