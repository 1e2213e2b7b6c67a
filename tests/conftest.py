"""Shared pytest configuration and fixtures."""

import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"

# Tests are imported with --import-mode=importlib (so that test files in
# different folders may share a name); the helper modules that sit beside them
# (``classifier_helpers``, ``detection_helpers``...) are found on sys.path.
for _folder in sorted(Path(__file__).parent.iterdir()):
    if _folder.is_dir() and not _folder.name.startswith((".", "_")):
        sys.path.insert(0, str(_folder))


@pytest.fixture
def data_dir():
    """The folder of real test data copied from the project's shared data."""
    return DATA


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``gpu`` when no CUDA device is present."""
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except ImportError:  # pragma: no cover
        has_gpu = False
    if has_gpu:
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
