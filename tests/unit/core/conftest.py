"""Fixtures for the pure-core tests: the labelled dedupe corpus and the real seed articles."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

DEDUPE_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dedupe"


def _load_corpus_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dedupe_corpus", DEDUPE_FIXTURES / "corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through it
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def dedupe_corpus() -> ModuleType:
    """The corpus generator module (`corpus(split, seed)` -> labelled items)."""
    return _load_corpus_module()


@pytest.fixture(scope="session")
def seed_texts() -> list[str]:
    return [p.read_text("utf-8") for p in sorted((DEDUPE_FIXTURES / "seeds").glob("*.txt"))]
