"""The paper's experiments on the synthetic benchmark, one command each.

    python benchmarks/experiments.py data        # the 260-subject / 42-site benchmark (+ domain-randomised copy) and splits
    python benchmarks/experiments.py table1      # MSA-Net vs stacked-hourglass baseline (Table 1 analogue)
    python benchmarks/experiments.py ablation    # baseline, +M-GCA, +contrastive, full (Table 3 analogue)
    python benchmarks/experiments.py sensitivity # temperature tau and batch size (Table 4 analogue, reduced grid)
    python benchmarks/experiments.py site        # site-held-out generalisation
    python benchmarks/experiments.py default     # the bundled default model (domain-randomised training)
    python benchmarks/experiments.py seeds       # run-to-run variation: the four ablation runs with a second seed
    python benchmarks/experiments.py real [--model PATH]  # the real scans of ../shared/data/real (benchmarks/real_scans.py)

Each experiment trains the runs it needs (skipping runs already finished in benchmarks/runs/),
predicts the test split, evaluates it, and writes ``benchmarks/results/<name>.md`` and ``.csv``
with the exact command, commit, machine and wall times. The protocol is in benchmarks/README.md.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from common import RESULTS, ROOT, commit, header, machine, msanet

DATA = ROOT / "data"
RUNS = ROOT / "benchmarks" / "runs"
SPLITS = ROOT / "benchmarks" / "splits"
CACHE = DATA / "cache"
SEED = 0

# Training budget that fits 2 CPU cores (see benchmarks/README.md): 128 x 128 px at 2.0 mm (256 x 256 mm field of view),
# heatmaps 32 x 32 at 8 mm, sigma 10 mm, Adam lr 2e-3 -> cosine, batch 8, 20 epochs over 364 training images, width 64.
BASE_FLAGS = ["--size", "128x128", "--pixel-mm", "2.0", "--sigma-mm", "10", "--epochs", "20", "--batch-size", "8", "--lr", "2e-3",
              "--width", "64", "--threads", "2", "--seed", str(SEED), "--cache-dir", str(CACHE), "--quiet"]

RUN_SPECS = {
    # name: (data set, split, extra flags)
    "full": ("sg260", "subject", []),
    "baseline": ("sg260", "subject", ["--no-mgca", "--no-fusion", "--no-contrastive"]),
    "mgca": ("sg260", "subject", ["--no-fusion", "--no-contrastive"]),
    "contrastive": ("sg260", "subject", ["--no-mgca", "--no-fusion"]),
    "tau0.05": ("sg260", "subject", ["--tau", "0.05"]),
    "tau0.5": ("sg260", "subject", ["--tau", "0.5"]),
    "batch16": ("sg260", "subject", ["--batch-size", "16"]),
    "full-site": ("sg260", "site", []),
    "baseline-site": ("sg260", "site", ["--no-mgca", "--no-fusion", "--no-contrastive"]),
    "default": ("sg260-dr", "subject", [str(Path("benchmarks") / "default.yaml"), "--epochs", "40"]),
    "baseline-seed1": ("sg260", "subject", ["--no-mgca", "--no-fusion", "--no-contrastive", "--seed", "1"]),
    "full-seed1": ("sg260", "subject", ["--seed", "1"]),
    "mgca-seed1": ("sg260", "subject", ["--no-fusion", "--no-contrastive", "--seed", "1"]),
    "contrastive-seed1": ("sg260", "subject", ["--no-mgca", "--no-fusion", "--seed", "1"]),
}
EXPERIMENTS = {
    "table1": ["baseline", "full"],
    "ablation": ["baseline", "mgca", "contrastive", "full"],
    "sensitivity": ["full", "tau0.05", "tau0.5", "batch16"],
    "site": ["baseline-site", "full-site"],
    "default": ["default"],
    "seeds": ["baseline", "mgca", "contrastive", "full", "baseline-seed1", "mgca-seed1", "contrastive-seed1", "full-seed1"],
}
LABELS = {"full": "MSA-Net (full)", "baseline": "stacked hourglass (baseline)", "mgca": "+ M-GCA", "contrastive": "+ contrastive",
          "tau0.05": "full, tau = 0.05", "tau0.5": "full, tau = 0.5", "batch16": "full, batch 16", "full-site": "MSA-Net (full)",
          "baseline-site": "stacked hourglass (baseline)", "default": "default model (domain-randomised training)",
          "baseline-seed1": "stacked hourglass (baseline), seed 1", "full-seed1": "MSA-Net (full), seed 1",
          "mgca-seed1": "+ M-GCA, seed 1", "contrastive-seed1": "+ contrastive, seed 1"}


def make_data() -> None:
    if not (DATA / "sg260" / "participants.tsv").exists():
        msanet("synth", str(DATA / "sg260"), "--subjects", "260", "--seed", str(SEED), "--quiet")
    if not (DATA / "sg260-dr" / "participants.tsv").exists():
        msanet("synth", str(DATA / "sg260-dr"), "--subjects", "260", "--seed", str(SEED), "--domain-random", "--quiet")
    SPLITS.mkdir(parents=True, exist_ok=True)
    if not (SPLITS / "subject.json").exists():
        msanet("split", str(DATA / "sg260"), "-o", str(SPLITS / "subject.json"), "--seed", str(SEED))
    if not (SPLITS / "site.json").exists():
        msanet("split", str(DATA / "sg260"), "-o", str(SPLITS / "site.json"), "--seed", str(SEED), "--by-site")


def run(name: str) -> dict:
    """Train (unless finished), predict the realistic test split, evaluate; returns the run's record."""
    data, split, extra = RUN_SPECS[name]
    out = RUNS / name
    record_path = out / "record.json"
    if record_path.exists():
        record = json.loads(record_path.read_text())
        record["train_seconds"] = train_seconds(out)
        record["best_val_mse"] = best_val_mse(out)
        return record
    if not (out / "done").exists():
        resume = ["--resume"] if (out / "last.state.pt").exists() else []
        msanet("train", "--bids", str(DATA / data), "--split", str(SPLITS / f"{split}.json"), "--out", str(out), *BASE_FLAGS, *extra, *resume)
        (out / "done").write_text("")
    train_s = train_seconds(out)
    splits = json.loads((SPLITS / f"{split}.json").read_text())
    test_images = sorted(str(p) for sid in splits["test"] for p in (DATA / "sg260" / sid / "anat").glob(f"{sid}_T*w.nii.gz"))
    t1 = time.time()
    msanet("predict", *test_images, "-o", str(out / "pred"), "--model", str(out / "best.safetensors"), "--quiet", "--overwrite")
    predict_s = time.time() - t1
    msanet("evaluate", "--pred", str(out / "pred"), "--gt", str(DATA / "sg260"), "-o", str(out / "eval"), "--split", str(SPLITS / f"{split}.json"))
    msanet("report", str(out), "-o", str(out / "report.html"))
    record = {"name": name, "train_seconds": round(train_s), "predict_seconds_per_image": round(predict_s / len(test_images), 3),
              "flags": BASE_FLAGS + extra, "data": data, "split": split, "summary": json.loads((out / "eval" / "summary.json").read_text()),
              "best_val_mse": best_val_mse(out)}
    record_path.write_text(json.dumps(record, indent=2))
    return record


def train_seconds(out: Path) -> int:
    """Training wall time of a run: the sum of its epochs' times in log.csv (resumed runs included)."""
    import csv

    with open(out / "log.csv") as f:
        return round(sum(float(row["seconds"]) for row in csv.DictReader(f)))


def best_val_mse(out: Path) -> float:
    """Validation heatmap MSE of the run's best checkpoint (the one that is evaluated)."""
    return float(json.loads((out / "best.json").read_text())["best_val_loss"])


def _fmt(x, pct=False):
    if x is None:
        return "n/a"
    return f"{100 * x:.1f} %" if pct else f"{x:.2f}"


def write_results(experiment: str, records: list[dict], command: str, started: float) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    lines = [*header(experiment, command)[:-1], f"- wall time of this command: {time.time() - started:.0f} s (runs finished earlier are reused, not retrained)",
             f"- training budget: `{' '.join(BASE_FLAGS)}` (per-run extra flags below)", "- data: synthetic Spine-Generic-like benchmark, 260 subjects, "
             "42 sites, seed 0 (`python benchmarks/experiments.py data`); test = held-out subjects of the split named per row", ""]
    csv_rows = ["run,contrast,definition,n_gt,n_pred,dtt_mean_mm,dtt_std_mm,dtt_median_mm,fnr,fpr,train_s,best_val_mse"]
    for definition, title in (("2d", "label-matched, 2D mid-sagittal mm"), ("3d", "label-matched, 3D world mm"), ("closest_point", "closest-point (anchors' code)")):
        lines += [f"## {title}", "", "| run | contrast | DTT mean +- std (mm) | DTT median (mm) | FNR | FPR | GT discs | predicted |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in records:
            for contrast, spaces in sorted(r["summary"]["contrasts"].items()):
                m = spaces[definition]
                lines.append(f"| {LABELS[r['name']]} | {contrast} | {_fmt(m['dtt_mean'])} +- {_fmt(m['dtt_std'])} | {_fmt(m['dtt_median'])} | "
                             f"{_fmt(m['fnr'], True)} | {_fmt(m['fpr'], True)} | {m['n_gt']} | {m['n_pred']} |")
                csv_rows.append(f"{r['name']},{contrast},{definition},{m['n_gt']},{m['n_pred']},{m['dtt_mean']},{m['dtt_std']},"
                                f"{m['dtt_median']},{m['fnr']},{m['fpr']},{r['train_seconds']},{r['best_val_mse']}")
        lines.append("")
    lines += ["## Runs", "", "| run | extra flags | split | training data | training wall time (s) | best validation MSE | predict s/image |",
              "|---|---|---|---|---|---|---|"]
    for r in records:
        extra = " ".join(r["flags"][len(BASE_FLAGS):]) or "(none)"
        lines.append(f"| {LABELS[r['name']]} | `{extra}` | {r['split']} | {r['data']} | {r['train_seconds']} | {r['best_val_mse']:.5f} | "
                     f"{r['predict_seconds_per_image']} |")
    out = RESULTS / f"{experiment}.md"
    out.write_text("\n".join(lines) + "\n")
    (RESULTS / f"{experiment}.csv").write_text("\n".join(csv_rows) + "\n")
    return out


def bundle_default(record: dict) -> None:
    """Copy the default run's best checkpoint into the package (src/msanet/weights) with a model card."""
    import shutil

    weights = ROOT / "src" / "msanet" / "weights"
    weights.mkdir(parents=True, exist_ok=True)
    src = RUNS / "default" / "best.safetensors"
    shutil.copy(src, weights / "msanet-default.safetensors")
    meta = json.loads(src.with_suffix(".json").read_text())
    meta["val"] = meta.get("val")
    (weights / "msanet-default.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    size_mb = (weights / "msanet-default.safetensors").stat().st_size / 1e6
    m = record["summary"]["contrasts"]
    rows = [f"| {c} | {v['2d']['dtt_mean']:.2f} +- {v['2d']['dtt_std']:.2f} | {100 * v['2d']['fnr']:.1f} % | {100 * v['2d']['fpr']:.1f} % |"
            for c, v in sorted(m.items()) if v["2d"]["dtt_mean"] is not None]
    card = [
        "# msanet default model", "",
        f"- file: `msanet-default.safetensors` ({size_mb:.1f} MB) + `msanet-default.json` (config, config hash, calibrated threshold "
        f"{meta['threshold']:.3f}); made by `python benchmarks/experiments.py default` at commit {commit()}",
        f"- architecture: full MSA-Net (M-GCA, fusion, contrastive training), width {meta['model_config']['width']}, "
        f"{meta['model_config']['num_discs']} disc channels (C1-C2 .. T4-T5)",
        f"- input: mid-sagittal slab resampled to {meta['preprocess']['height']} x {meta['preprocess']['width']} px at "
        f"{meta['preprocess']['pixel_mm']} mm (field of view {meta['preprocess']['height'] * meta['preprocess']['pixel_mm']:.0f} mm)",
        f"- training data: the domain-randomised synthetic benchmark (`msanet synth --subjects 260 --seed 0 --domain-random`), "
        "182 training subjects x (T1w + T2w) with random tissue intensities: contrast-agnostic",
        f"- augmentation: intensity (gamma, contrast, bias field, blur, Rician noise), small rotation/scale/translation, and "
        f"field-of-view crops with probability {meta['train_config']['augmentation']['p_crop']} keeping "
        f"{meta['train_config']['augmentation']['crop_keep'][0]}..{meta['train_config']['augmentation']['crop_keep'][1]} of each "
        "dimension (`benchmarks/default.yaml`: real scans are often tight crops)",
        f"- training: `{' '.join(record['flags'])}`; {record['train_seconds']} s on {machine()}",
        "", "## Test figures (realistic synthetic test split, 52 subjects, label-matched, 2D mm; from benchmarks/results/default.md)", "",
        "| contrast | DTT mean +- std (mm) | FNR | FPR |", "|---|---|---|---|", *rows, "",
        "## Limitations", "",
        "- **Never trained or validated on a real scan.** Every figure above is measured on synthetic data. Its figures on the "
        "real scans of `../shared/data/real` (detection rate, naming errors, FPR and DTT per scan) are in "
        "`benchmarks/results/real.md` (`python benchmarks/experiments.py real`): read them before using it on real MRI, and "
        "check every result.",
        "- Trained on a 2-core CPU budget (low resolution, few updates): far from the paper's accuracy; use it to try the tool, "
        "then train on your own labelled data (`msanet train`).",
        "- Cervical and upper thoracic spine only (C1-C2 .. T4-T5); no lumbar spine; adult anatomy; sagittal T1w/T2w.",
    ]
    (weights / "MODEL_CARD.md").write_text("\n".join(card) + "\n")
    print(f"bundled {weights / 'msanet-default.safetensors'} ({size_mb:.1f} MB)")


def main() -> None:
    if sys.argv[1:2] == ["real"]:
        import argparse

        from real_scans import DEFAULT_MODEL, run_real

        parser = argparse.ArgumentParser(prog="python benchmarks/experiments.py real", description="the real-scan benchmark")
        parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="checkpoint (.safetensors with its .json); default: the bundled model")
        print(f"wrote {run_real(parser.parse_args(sys.argv[2:]).model)}")
        return
    if len(sys.argv) != 2 or sys.argv[1] not in ("data", *EXPERIMENTS):
        sys.exit(f"usage: python benchmarks/experiments.py {{data,{','.join(EXPERIMENTS)},real [--model PATH]}}")
    started = time.time()
    make_data()
    if sys.argv[1] == "data":
        return
    records = [run(name) for name in EXPERIMENTS[sys.argv[1]]]
    if sys.argv[1] == "default":
        bundle_default(records[0])
    print(f"wrote {write_results(sys.argv[1], records, 'python benchmarks/experiments.py ' + sys.argv[1], started)}")


if __name__ == "__main__":
    main()
