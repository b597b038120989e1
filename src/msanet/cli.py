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
from msanet.errors import ConfigError, MsanetError


def cmd_inspect(args: argparse.Namespace) -> int:
    from msanet import bids, io

    volume = io.load_image(args.file, max_voxels=args.max_voxels)
    print(f"file:         {volume.path}")
    print(f"orientation:  {''.join(volume.original_axcodes)} (nibabel, axes point to) = {io.orientation_string(volume)} (SCT/FSLeyes, axes point from)")
    print(f"shape:        {' x '.join(str(s) for s in volume.original_shape)} voxels")
    zooms = [float(z) for z in volume.header.get_zooms()[:3]]
    print(f"spacing:      {' x '.join(f'{z:g}' for z in zooms)} mm")
    print(f"data type:    {volume.header.get_data_dtype()}")
    label_path = Path(args.labels) if args.labels else bids.find_label_file(volume.path)
    is_label_file = any(s in volume.path.name for s in bids.LABEL_SUFFIXES)
    if is_label_file:
        label_path = volume.path
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


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r} must look like 256x192") from None
    return h, w


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="msanet", description="Find and name intervertebral discs on sagittal spine MRI (MSA-Net).")
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

    p = sub.add_parser("split", help="deterministic train/val/test split of a BIDS data set (JSON)")
    p.add_argument("bids")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val", type=float, default=0.1, help="validation fraction")
    p.add_argument("--test", type=float, default=0.2, help="test fraction")
    p.add_argument("--by-site", action="store_true", help="hold out whole sites (institution_id)")
    p.set_defaults(func=cmd_split)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
