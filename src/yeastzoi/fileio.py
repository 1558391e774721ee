"""Atomic file output: write to a temporary name in the target folder, rename on success.

    with atomic_path("out/scores.h5") as tmp:
        write_h5(tmp)          # tmp lies beside the final file
    # out/scores.h5 now exists; on an exception nothing is left behind
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None):
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block succeeds.

    ``suffix`` defaults to the final file's suffix so that libraries that pick a format
    from the extension (pyBigWig, h5py, keras) still work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix if suffix is not None else "".join(path.suffixes) or ".tmp",
                               dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_json(path, what: str = "JSON"):
    """Parse a JSON file; a missing file or bad JSON is a one-line YeastzoiError naming the
    file (and the line and column of the syntax error)."""
    from . import YeastzoiError
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise YeastzoiError(f"{path}: no such {what} file") from None
    except json.JSONDecodeError as e:
        raise YeastzoiError(f"{path}: line {e.lineno} column {e.colno}: invalid JSON ({e.msg})") from None


def write_text_atomic(path, text: str) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)


def write_json_atomic(path, obj, indent: int = 2) -> None:
    write_text_atomic(path, json.dumps(obj, indent=indent, sort_keys=False) + "\n")


def save_figure(fig, path, dpi: int = 150) -> Path:
    """The one figure writer: save a matplotlib ``fig`` atomically to ``path`` (format from
    the suffix: .png, .pdf, .svg) and close it. Returns the path."""
    import matplotlib.pyplot as plt
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    return path
