"""Shared pytest fixtures (read-only for other test modules).

- ``r64_dir``: a genome folder built once per session by :func:`yeastzoi.genome.assembly.build_r64`
  (~4 s); set ``YEASTZOI_TEST_CACHE=/some/folder`` to build it there and reuse it across runs.
- ``shared_dir``: the ``../shared`` reference folder beside the repository; tests using it
  are skipped when it is absent.
- ``needs_jax``: a mark for tests that start a ``KERAS_BACKEND=jax`` subprocess; skipped with a
  reason when jax (the ``[jax]`` extra, which ``make test`` installs) is not importable.
"""
import importlib.util
import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                               reason="jax is not installed (pip install -e '.[jax]'; make test installs it)")


@pytest.fixture(scope="session")
def r64_dir(tmp_path_factory):
    from yeastzoi.genome import build_r64

    cache = os.environ.get("YEASTZOI_TEST_CACHE")
    out = Path(cache) / "r64" if cache else tmp_path_factory.mktemp("r64")
    build_r64(out)
    return out


@pytest.fixture(scope="session")
def shared_dir():
    if not SHARED.is_dir():
        pytest.skip(f"shared reference folder {SHARED} is absent")
    return SHARED
