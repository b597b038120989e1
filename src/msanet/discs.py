"""Disc vocabulary: SCT label values <-> disc names <-> model channels.

Spinal Cord Toolbox (SCT) convention: a disc-label file holds single voxels whose integer value
names the disc. 1 = top of C1 (posterior tip of the C1 arch / skull base junction), 2 = C1-C2,
3 = C2-C3, ..., 8 = C7-T1, 9 = T1-T2, ..., 20 = T12-L1, 21 = L1-L2, ..., 25 = L5-S1.

The model predicts ``V`` channels, channel ``c`` holding SCT value ``FIRST_CHANNEL_VALUE + c``: 11 in the
paper's Spine Generic configuration (values 2..12, C1-C2 .. T4-T5), up to 24 for the whole column (values
2..25, C1-C2 .. L5-S1; ``MSANetConfig.num_discs``). This module is the only place that knows that table.
"""

from __future__ import annotations

VERTEBRAE: tuple[str, ...] = (
    tuple(f"C{i}" for i in range(1, 8))
    + tuple(f"T{i}" for i in range(1, 13))
    + tuple(f"L{i}" for i in range(1, 6))
    + ("S1",)
)

TOP_OF_C1 = 1
MIN_VALUE = 1
MAX_VALUE = 25
FIRST_CHANNEL_VALUE = 2
DEFAULT_NUM_CHANNELS = 11


def _build_tables() -> tuple[dict[int, str], dict[str, int]]:
    names = {TOP_OF_C1: "C1"}
    for value in range(2, MAX_VALUE + 1):
        upper, lower = VERTEBRAE[value - 2], VERTEBRAE[value - 1]
        names[value] = f"{upper}-{lower}"
    return names, {name: value for value, name in names.items()}


VALUE_TO_NAME, NAME_TO_VALUE = _build_tables()


def is_valid_value(value: int) -> bool:
    """True when ``value`` is an SCT disc-label value (1..25)."""
    return isinstance(value, int) and MIN_VALUE <= value <= MAX_VALUE


def disc_name(value: int) -> str:
    """SCT value -> disc name, e.g. ``3 -> 'C2-C3'``, ``1 -> 'C1'`` (top of C1)."""
    if not is_valid_value(value):
        raise ValueError(f"disc label value {value!r} is outside the SCT vocabulary 1..25")
    return VALUE_TO_NAME[value]


def region(value: int) -> str:
    """The spinal region of a disc, that of the vertebra above it: 'C' (values 1..8, C1 .. C7-T1),
    'T' (9..20, T1-T2 .. T12-L1) or 'L' (21..25, L1-L2 .. L5-S1)."""
    if not is_valid_value(value):
        raise ValueError(f"disc label value {value!r} is outside the SCT vocabulary 1..25")
    return "C" if value == TOP_OF_C1 else VERTEBRAE[value - 2][0]


def disc_value(name: str) -> int:
    """Disc name -> SCT value, e.g. ``'C2-C3' -> 3``; case-insensitive, '/' accepted for '-'."""
    key = name.strip().upper().replace("/", "-")
    if key not in NAME_TO_VALUE:
        raise ValueError(f"unknown disc name {name!r} (expected e.g. 'C2-C3' or 'T1-T2')")
    return NAME_TO_VALUE[key]


def channel_values(num_channels: int = DEFAULT_NUM_CHANNELS) -> tuple[int, ...]:
    """SCT values predicted by a model with ``num_channels`` heatmap channels, in channel order."""
    if not 1 <= num_channels <= MAX_VALUE - FIRST_CHANNEL_VALUE + 1:
        raise ValueError(f"num_channels={num_channels} must be in 1..{MAX_VALUE - FIRST_CHANNEL_VALUE + 1}")
    return tuple(range(FIRST_CHANNEL_VALUE, FIRST_CHANNEL_VALUE + num_channels))


def value_to_channel(value: int, num_channels: int = DEFAULT_NUM_CHANNELS) -> int | None:
    """SCT value -> channel index, or None when the model has no channel for it (e.g. value 1)."""
    channel = value - FIRST_CHANNEL_VALUE
    return channel if 0 <= channel < num_channels else None


def channel_to_value(channel: int, num_channels: int = DEFAULT_NUM_CHANNELS) -> int:
    """Channel index -> SCT value."""
    if not 0 <= channel < num_channels:
        raise ValueError(f"channel {channel} is outside 0..{num_channels - 1}")
    return FIRST_CHANNEL_VALUE + channel
