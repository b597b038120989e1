import pytest

from msanet import discs


@pytest.mark.parametrize("value, name", [(1, "C1"), (2, "C1-C2"), (3, "C2-C3"), (8, "C7-T1"), (9, "T1-T2"), (20, "T12-L1"), (21, "L1-L2"), (25, "L5-S1")])
def test_value_name_table(value, name):
    assert discs.disc_name(value) == name
    assert discs.disc_value(name) == value


def test_names_are_unique_and_cover_1_to_25():
    assert sorted(discs.VALUE_TO_NAME) == list(range(1, 26))
    assert len(set(discs.VALUE_TO_NAME.values())) == 25


def test_default_channels_are_values_2_to_12():
    assert discs.channel_values() == tuple(range(2, 13))
    assert discs.value_to_channel(2) == 0 and discs.value_to_channel(12) == 10
    assert discs.value_to_channel(1) is None and discs.value_to_channel(13) is None
    assert [discs.channel_to_value(c) for c in range(11)] == list(range(2, 13))


@pytest.mark.parametrize("bad", [0, 26, -1])
def test_bad_values_raise(bad):
    with pytest.raises(ValueError, match=str(bad)):
        discs.disc_name(bad)


def test_name_parsing_is_lenient_but_strict_on_unknown():
    assert discs.disc_value("c2/c3") == 3
    with pytest.raises(ValueError, match="X9"):
        discs.disc_value("X9-X10")


@pytest.mark.parametrize("value, region", [(1, "C"), (2, "C"), (8, "C"), (9, "T"), (20, "T"), (21, "L"), (25, "L")])
def test_region_of_a_disc_is_that_of_the_vertebra_above(value, region):
    assert discs.region(value) == region


@pytest.mark.parametrize("num_channels, first, last", [(11, "C1-C2", "T4-T5"), (24, "C1-C2", "L5-S1")])
def test_channel_vocabularies(num_channels, first, last):
    values = discs.channel_values(num_channels)
    assert (discs.disc_name(values[0]), discs.disc_name(values[-1])) == (first, last) and len(values) == num_channels
    with pytest.raises(ValueError, match="num_channels=25"):
        discs.channel_values(25)
