"""Shared fixtures: the toy knowledge base, the bundled model and the seed text."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from model import Model

TESTS = Path(__file__).parent
TOY = TESTS / "toy_priors"
SEED_NAME = "000_397942f7636e3461.txt"


def seed_path() -> Path:
    """The seed document: $HEELNET_SEED, or ../shared/seed/ beside the checkout."""
    if os.environ.get("HEELNET_SEED"):
        return Path(os.environ["HEELNET_SEED"])
    return TESTS.parent.parent / "shared" / "seed" / SEED_NAME


@pytest.fixture(scope="session")
def seed_text() -> str:
    path = seed_path()
    if not path.is_file():
        pytest.skip(
            f"seed document not found at {path}: set HEELNET_SEED to its path to check "
            "that every 'seed' source is a verbatim quote"
        )
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def toy_model() -> Model:
    return Model.from_directory(TOY)


@pytest.fixture()
def toy_copy(tmp_path: Path) -> Path:
    """A writable copy of the toy knowledge base, for breaking on purpose."""
    target = tmp_path / "priors"
    shutil.copytree(TOY, target)
    return target


@pytest.fixture(scope="session")
def model() -> Model:
    return Model.default()


@pytest.fixture(scope="session")
def other_model(tmp_path_factory) -> Model:
    """The shipped priors with an other cause moved into the middle of the conditions
    (tests/other_causes.py)."""
    from tests.other_causes import priors_with_other_causes

    return Model.from_directory(priors_with_other_causes(tmp_path_factory.mktemp("other") / "p"))
