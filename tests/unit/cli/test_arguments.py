"""Shared argument types: one clear message for anything that is not a positive number."""
from __future__ import annotations

import argparse

import pytest

from newsmon.cli.arguments import port_number, positive_count, positive_number
from newsmon.cli.replay import parse_speed


@pytest.mark.parametrize("text", ["0", "-1", "x", "nan", ""])
def test_rejects_what_is_not_a_positive_number(text):
    with pytest.raises(argparse.ArgumentTypeError, match=f"expected a number > 0, got {text!r}"):
        positive_number(text)


def test_accepts_positive_numbers_and_replay_speed_max():
    assert positive_number("2.5") == 2.5
    assert parse_speed("max") is None and parse_speed("10") == 10.0


@pytest.mark.parametrize("text", ["0", "65536", "-1", "http", ""])
def test_a_port_flag_is_one_in_1_to_65535(text):
    with pytest.raises(argparse.ArgumentTypeError, match=f"expected a port in 1..65535, got {text!r}"):
        port_number(text)
    assert port_number("1") == 1 and port_number("65535") == 65535


@pytest.mark.parametrize("text", ["0", "-3", "2.5", "many"])
def test_a_count_flag_is_a_whole_number_above_0(text):
    with pytest.raises(argparse.ArgumentTypeError, match=f"expected a whole number > 0, got {text!r}"):
        positive_count(text)
    assert positive_count("20") == 20
