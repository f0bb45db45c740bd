"""Argument types shared by sub-commands, so every command rejects a bad number the same way."""
from __future__ import annotations

import argparse


def positive_number(value: str, expected: str = "a number > 0") -> float:
    """`value` as a float > 0, or an argparse error saying what was `expected`."""
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not number > 0:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {value!r}")
    return number


def port_number(value: str) -> int:
    """`value` as a TCP port (1..65535), or an argparse error."""
    if not (value.isdigit() and 1 <= int(value) <= 65535):
        raise argparse.ArgumentTypeError(f"expected a port in 1..65535, got {value!r}")
    return int(value)


def positive_count(value: str) -> int:
    """`value` as a whole number > 0, or an argparse error."""
    if not (value.isdigit() and int(value) > 0):
        raise argparse.ArgumentTypeError(f"expected a whole number > 0, got {value!r}")
    return int(value)
