"""The single source of truth for record shapes, index templates and topic rules.

Stream code, collectors, the CLI and the tests all read shapes and templates from here,
so a field is added in exactly one place.
"""
from importlib import resources
from pathlib import Path


def schema_path(name: str) -> Path:
    """Path of a data file shipped in this package (templates/*.json, topics.yaml)."""
    return Path(str(resources.files(__package__).joinpath(name)))
