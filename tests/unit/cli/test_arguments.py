"""Shared argument types: one clear message for anything that is not a positive number."""
from __future__ import annotations

import argparse

import pytest

from newsmon.cli.arguments import positive_number
from newsmon.cli.replay import parse_speed


@pytest.mark.parametrize("text", ["0", "-1", "x", "nan", ""])
def test_rejects_what_is_not_a_positive_number(text):
    with pytest.raises(argparse.ArgumentTypeError, match=f"expected a number > 0, got {text!r}"):
        positive_number(text)


def test_accepts_positive_numbers_and_replay_speed_max():
    assert positive_number("2.5") == 2.5
    assert parse_speed("max") is None and parse_speed("10") == 10.0
