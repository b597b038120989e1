"""User-facing errors. Each class carries the documented exit code of the CLI (docs/errors.md).

Code raises these with a one-line message naming the file and the problem; ``cli.main`` prints
``msanet: error: <message>`` to stderr and exits with ``exit_code``. Anything else is a bug.
"""

from __future__ import annotations


class MsanetError(Exception):
    """Base class: a problem the user can fix. ``exit_code`` is the CLI's exit status."""

    exit_code = 1


class ConfigError(MsanetError):
    """Bad command-line option or config file (unknown key, wrong type, bad value)."""

    exit_code = 2


class InputNotFoundError(MsanetError):
    """An input path does not exist or cannot be read."""

    exit_code = 3


class ImageError(MsanetError):
    """An image file is not a usable 3D NIfTI (corrupt, truncated, wrong dims, NaN, constant...)."""

    exit_code = 4


class LabelError(MsanetError):
    """A disc-label file is unusable (empty, grid mismatch, values outside the vocabulary...)."""

    exit_code = 5


class DatasetError(MsanetError):
    """A BIDS folder is unusable (no subjects, malformed participants.tsv, unknown contrast...)."""

    exit_code = 6


class ModelError(MsanetError):
    """A checkpoint is missing, corrupt, of another architecture or another format version."""

    exit_code = 7


class OutputError(MsanetError):
    """An output cannot be written (exists without --overwrite, not writable, disk full)."""

    exit_code = 8


class ResourceError(MsanetError):
    """An input is larger than the configured limit (e.g. voxel count)."""

    exit_code = 9


class PartialFailure(MsanetError):
    """A batch command finished, but some items failed (their errors were listed)."""

    exit_code = 10
