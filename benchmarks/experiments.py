"""The paper's experiments on the synthetic benchmark, one command each.

    python benchmarks/experiments.py data        # the 260-subject / 42-site benchmark (+ domain-randomised copy) and splits
    python benchmarks/experiments.py table1      # MSA-Net vs stacked-hourglass baseline (Table 1 analogue)
    python benchmarks/experiments.py ablation    # baseline, +M-GCA, +contrastive, full (Table 3 analogue)
    python benchmarks/experiments.py sensitivity # temperature tau and batch size (Table 4 analogue, reduced grid)
    python benchmarks/experiments.py site        # site-held-out generalisation
    python benchmarks/experiments.py default     # the synthetic-only default model (domain-randomised training)
    python benchmarks/experiments.py seeds       # run-to-run variation: the four ablation runs with a second seed
    python benchmarks/experiments.py real [--model PATH] [--folds DIR] [--name NAME]  # the real scans of ../shared/data/real
    python benchmarks/experiments.py scan-types  # one 24-channel model on mixed scan types, scored per type (scan_types.py)
    python benchmarks/experiments.py default-real  # the bundled model: 'default' fine-tuned with the real amu_t2w scans,
                                                  # its 6 leave-one-subject-out twins, and the real benchmark of both models

Each experiment trains the runs it needs (skipping runs already finished in benchmarks/runs/),
predicts the test split, evaluates it, and writes ``benchmarks/results/<name>.md`` and ``.csv``
with the exact command, commit, machine and wall times. The protocol is in benchmarks/README.md.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from common import RESULTS, ROOT, commit, header, machine, msanet, num, sha256
from real_scans import REAL

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
REAL_SUBJECTS = ("sub-errsm11", "sub-errsm18", "sub-errsm20", "sub-errsm22", "sub-errsm23", "sub-errsm24")
# Fine-tuning of the synthetic default model with the 6 real amu_t2w scans (T2w), each seen REAL_REPEAT times per epoch
# beside the synthetic training images (which keep it from forgetting T1w and the synthetic anatomy). The last epoch
# is kept: the synthetic validation set does not measure real-scan accuracy.
REAL_REPEAT = 100
REAL_FLAGS = [str(Path("benchmarks") / "default-real.yaml"), "--init", str(RUNS / "default" / "best.safetensors"), "--extra-bids",
              str(REAL / "amu_t2w"), "--extra-repeat", str(REAL_REPEAT), "--epochs", "12", "--lr", "1e-3", "--select", "last"]
RUN_SPECS["default-real"] = ("sg260-dr", "subject", REAL_FLAGS)
# a trial of the generator's soft-tissue clutter (real_trials.md): the default recipe on a cluttered domain-randomised copy
RUN_SPECS["default-clutter"] = ("sg260-drc", "subject", [str(Path("benchmarks") / "default.yaml"), "--epochs", "40"])
OPTIONAL_DATA = {"sg260-drc": ["--domain-random", "--clutter"]}  # data sets made only when a run needs them
RUN_SPECS["whole24"] = ("mixed200", "mixed", ["--num-discs", "24"])  # the whole-spine benchmark (benchmarks/scan_types.py)
RUN_SPECS["whole24-e80"] = ("mixed200", "mixed", ["--num-discs", "24", "--epochs", "80"])
for _subject in REAL_SUBJECTS:  # leave-one-subject-out twins of default-real: real-<subject> never saw <subject>
    RUN_SPECS[f"real-{_subject}"] = ("sg260-dr", "subject", [*REAL_FLAGS, "--exclude-subjects", _subject])
EXPERIMENTS = {
    "table1": ["baseline", "full"],
    "ablation": ["baseline", "mgca", "contrastive", "full"],
    "sensitivity": ["full", "tau0.05", "tau0.5", "batch16"],
    "site": ["baseline-site", "full-site"],
    "default": ["default"],
    "default-real": ["default-real"],
    "default-clutter": ["default-clutter"],
    "seeds": ["baseline", "mgca", "contrastive", "full", "baseline-seed1", "mgca-seed1", "contrastive-seed1", "full-seed1"],
}
LABELS = {"full": "MSA-Net (full)", "baseline": "stacked hourglass (baseline)", "mgca": "+ M-GCA", "contrastive": "+ contrastive",
          "tau0.05": "full, tau = 0.05", "tau0.5": "full, tau = 0.5", "batch16": "full, batch 16", "full-site": "MSA-Net (full)",
          "baseline-site": "stacked hourglass (baseline)", "default": "default model (domain-randomised training)",
          "baseline-seed1": "stacked hourglass (baseline), seed 1", "full-seed1": "MSA-Net (full), seed 1",
          "mgca-seed1": "+ M-GCA, seed 1", "contrastive-seed1": "+ contrastive, seed 1",
          "default-real": "default model fine-tuned with the 6 real amu_t2w scans",
          "default-clutter": "default recipe, domain-randomised data with soft-tissue clutter", "whole24": "24 channels, mixed scan types", "whole24-e80": "24 channels, mixed scan types, 80 epochs"}


def make_synth(name: str, *flags: str) -> None:
    """``data/<name>``: 260 synthetic subjects of the benchmark seed with ``flags``, unless it exists."""
    if not (DATA / name / "participants.tsv").exists():
        msanet("synth", str(DATA / name), "--subjects", "260", "--seed", str(SEED), *flags, "--quiet")


def make_data() -> None:
    make_synth("sg260")
    make_synth("sg260-dr", "--domain-random")
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
    train_only(name)
    train_s = train_seconds(out)
    splits = json.loads((SPLITS / f"{split}.json").read_text())
    test_images = split_images(DATA / "sg260", splits["test"])
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


def split_images(data: Path, subjects: list[str]) -> list[str]:
    """The T1w and T2w images of ``subjects`` in data set ``data``, sorted."""
    return sorted(str(p) for sid in subjects for p in (data / sid / "anat").glob(f"{sid}_T*w.nii.gz"))


def train_only(name: str) -> Path:
    """Train run ``name`` unless finished (resuming an interrupted one); returns its folder."""
    data, split, extra = RUN_SPECS[name]
    out = RUNS / name
    if not (out / "done").exists():
        if data in OPTIONAL_DATA:
            make_synth(data, *OPTIONAL_DATA[data])
        if "--init" in extra:
            init = Path(extra[extra.index("--init") + 1])
            if not init.exists():
                sys.exit(f"{init}: the run this one starts from is missing (python benchmarks/experiments.py default)")
        resume = ["--resume"] if (out / "last.state.pt").exists() else []
        msanet("train", "--bids", str(DATA / data), "--split", str(SPLITS / f"{split}.json"), "--out", str(out), *BASE_FLAGS, *extra, *resume)
        (out / "done").write_text("")
    return out


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
    """Copy run ``record['name']``'s best checkpoint into the package (src/msanet/weights) with a model card."""
    import shutil

    weights = ROOT / "src" / "msanet" / "weights"
    weights.mkdir(parents=True, exist_ok=True)
    src = RUNS / record["name"] / "best.safetensors"
    shutil.copy(src, weights / "msanet-default.safetensors")
    meta = json.loads(src.with_suffix(".json").read_text())
    meta["val"] = meta.get("val")
    (weights / "msanet-default.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    write_model_card(record)
    print(f"bundled {weights / 'msanet-default.safetensors'}")


def write_model_card(record: dict) -> None:
    """src/msanet/weights/MODEL_CARD.md of the bundled model (run ``record['name']``), from its metadata and results files."""
    weights = ROOT / "src" / "msanet" / "weights"
    meta = json.loads((weights / "msanet-default.json").read_text())
    size_mb = (weights / "msanet-default.safetensors").stat().st_size / 1e6
    m = record["summary"]["contrasts"]
    rows = [f"| {c} | {v['2d']['dtt_mean']:.2f} +- {v['2d']['dtt_std']:.2f} | {100 * v['2d']['fnr']:.1f} % | {100 * v['2d']['fpr']:.1f} % |"
            for c, v in sorted(m.items()) if v["2d"]["dtt_mean"] is not None]
    tc = meta["train_config"]
    real_subjects = sorted(p.name for p in (REAL / "amu_t2w").glob("sub-*")) if tc.get("extra_bids") else []
    start = json.loads((RUNS / "default" / "best.json").read_text()) if tc.get("init") else None
    card = [
        "# msanet default model", "",
        f"- file: `msanet-default.safetensors` ({size_mb:.1f} MB) + `msanet-default.json` (config, config hash, calibrated threshold "
        f"{meta['threshold']:.3f}); made by `python benchmarks/experiments.py {record['name']}` at commit {commit()}",
        f"- architecture: full MSA-Net (M-GCA, fusion, contrastive training), width {meta['model_config']['width']}, "
        f"{meta['model_config']['num_discs']} disc channels (C1-C2 .. T4-T5)",
        f"- input: mid-sagittal slab resampled to {meta['preprocess']['height']} x {meta['preprocess']['width']} px at "
        f"{meta['preprocess']['pixel_mm']} mm (field of view {meta['preprocess']['height'] * meta['preprocess']['pixel_mm']:.0f} mm; "
        "longer scans are read in overlapping windows)",
        "- training data, synthetic: the domain-randomised benchmark (`msanet synth --subjects 260 --seed 0 --domain-random`), "
        "182 training subjects x (T1w + T2w) with random tissue intensities",
    ]
    if real_subjects:
        card += [
            f"- training data, real: the {len(real_subjects)} real T2w scans of `../shared/data/real/amu_t2w` ({', '.join(real_subjects)}; "
            f"one site, 1 mm, C2-C3 .. T4-T5 labelled), each seen {tc['extra_repeat']} times per epoch beside the synthetic images",
            f"- training: stage 1, synthetic only: `python benchmarks/experiments.py default` ({start['train_config']['epochs']} epochs, "
            f"lr {start['train_config']['lr']:g}); stage 2, this model: the stage-1 weights fine-tuned {tc['epochs']} epochs at lr "
            f"{tc['lr']:g} on synthetic + real (`{' '.join(record['flags'])}`), last epoch kept; {record['train_seconds']} s on {machine()}",
        ]
    else:
        card += [f"- training: `{' '.join(record['flags'])}`; {record['train_seconds']} s on {machine()}"]
    card += [
        f"- augmentation: intensity (gamma, contrast, bias field, blur, Rician noise), small rotation/scale/translation, and "
        f"field-of-view crops with probability {tc['augmentation']['p_crop']} keeping "
        f"{tc['augmentation']['crop_keep'][0]}..{tc['augmentation']['crop_keep'][1]} of each dimension"
        + (f", superior-inferior stretch {tc['augmentation']['stretch'][0]:g}..{tc['augmentation']['stretch'][1]:g}"
           if tc["augmentation"].get("stretch", [1, 1])[0] != tc["augmentation"].get("stretch", [1, 1])[1] else "")
        + f" (`{next(f for f in record['flags'] if f.endswith('.yaml'))}`; later flags override earlier ones)",
        "", f"## Test figures, synthetic (realistic synthetic test split, 52 subjects, label-matched, 2D mm; from "
        f"benchmarks/results/{record['name']}.md)", "",
        "| contrast | DTT mean +- std (mm) | FNR | FPR |", "|---|---|---|---|", *rows, "",
    ]
    real_md = RESULTS / "real.csv"
    bundled_sha = sha256(weights / "msanet-default.safetensors")
    measured = (RESULTS / "real.md").exists() and f"sha256 {bundled_sha}" in (RESULTS / "real.md").read_text()
    if real_md.exists() and real_subjects and measured:  # the real-scan figures of this very file, not of an earlier model
        import csv

        with open(real_md, newline="") as f:
            rows = list(csv.DictReader(f))
        totals = {r["set"]: r for r in rows if r["level"] == "total"}
        amu = totals["amu_t2w"]
        crop = ", ".join(f"{r['disc']} ({float(r['confidence']):.2f})" for r in rows if r["set"] == "sct_testing_data" and r["level"] == "prediction")
        card += ["## Real scans (benchmarks/results/real.md, `python benchmarks/experiments.py real --folds benchmarks/runs`)", "",
                 "The amu_t2w figures are leave-one-subject-out: each scan is scored by the model of this recipe that never saw it "
                 "(`benchmarks/runs/real-<subject>`), never by this model, which trained on all six.", "",
                 "| set | discs labelled | found under the right name | FPR | DTT mean (mm) |", "|---|---|---|---|---|",
                 f"| amu_t2w (6 scans, leave-one-subject-out) | {amu['n_gt']} | {amu['tp']} ({num(amu['detection_rate'], True)}) | "
                 f"{num(amu['fpr'], True)} | {num(amu['dtt_mean_mm'])} |", "",
                 f"Real T1w crop (`sct_testing_data`, unlabelled; by eye C2-C3 .. C5-C6): predicted {crop or 'nothing'}. Look at its "
                 "QC picture (`docs/figures/real/sct_testing_data_t1w.png`) before trusting the positions.", ""]
    card += [
        "## Limitations", "",
        "- Real training data: six scans of one site and one contrast (T2w). Its real-scan figures are measured on those six "
        "(leave-one-subject-out) and on two unlabelled-or-single-label scans; other sites, T1w and pathology are not measured. "
        "Check every result on its QC picture.",
        "- Trained on a 2-core CPU budget (low resolution, few updates): far from the paper's accuracy; use it to try the tool, "
        "then train on your own labelled data (`msanet train`, `--extra-bids` for real scans).",
        "- Cervical and upper thoracic spine only (C1-C2 .. T4-T5); no lumbar spine; adult anatomy; sagittal T1w/T2w.",
    ]
    (weights / "MODEL_CARD.md").write_text("\n".join(card) + "\n")


def main() -> None:
    if sys.argv[1:2] == ["real"]:
        import argparse

        from real_scans import DEFAULT_MODEL, run_real

        parser = argparse.ArgumentParser(prog="python benchmarks/experiments.py real", description="the real-scan benchmark")
        parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="checkpoint (.safetensors with its .json); default: the bundled model")
        parser.add_argument("--folds", type=Path, default=None,
                            help="folder of leave-one-out runs real-<subject>/ (needed when the model trained on real scans)")
        parser.add_argument("--name", default="real", help="results file stem (default: real; pictures go to docs/figures/ only for it)")
        args = parser.parse_args(sys.argv[2:])
        print(f"wrote {run_real(args.model, args.folds, args.name)}")
        return
    if sys.argv[1:] == ["scan-types"]:
        from scan_types import run_scan_types

        make_data()
        if not (DATA / "mixed200" / "participants.tsv").exists():
            msanet("synth", str(DATA / "mixed200"), "--subjects", "200", "--seed", str(SEED), "--scan-type", "mixed", "--quiet")
        if not (SPLITS / "mixed.json").exists():
            msanet("split", str(DATA / "mixed200"), "-o", str(SPLITS / "mixed.json"), "--seed", str(SEED))
        run_scan_types(DATA / "mixed200", SPLITS, train_only, split_images)
        return
    if len(sys.argv) != 2 or sys.argv[1] not in ("data", *EXPERIMENTS):
        sys.exit(f"usage: python benchmarks/experiments.py {{data,{','.join(EXPERIMENTS)},real [--model PATH]}}")
    started = time.time()
    make_data()
    if sys.argv[1] == "data":
        return
    if sys.argv[1] == "default-real":
        from real_scans import run_real

        for subject in REAL_SUBJECTS:
            train_only(f"real-{subject}")
        run_real(RUNS / "default" / "best.safetensors", None, "real-synthetic-only")
    records = [run(name) for name in EXPERIMENTS[sys.argv[1]]]
    if sys.argv[1] == "default-real":
        bundle_default(records[0])
    if sys.argv[1] == "default-real":
        run_real(ROOT / "src" / "msanet" / "weights" / "msanet-default.safetensors", RUNS, "real")
        write_model_card(records[0])  # now with the real-scan figures
    print(f"wrote {write_results(sys.argv[1], records, 'python benchmarks/experiments.py ' + sys.argv[1], started)}")


if __name__ == "__main__":
    main()
