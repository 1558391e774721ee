"""yeastzoi: a Keras 3 model zoo for yeast regulatory genomics.

Library modules never parse argv and never print; the scripts in ``bin/`` do.
"""
import os
from pathlib import Path

# TensorFlow's C++ start-up chatter would precede every one-line error; users can still set it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

#: Folder of the zoo's JSON specs (the repository's ``json_params/``).
ZOO_DIR = Path(__file__).resolve().parents[2] / "json_params"


class YeastzoiError(ValueError):
    """A user-facing error whose message is one line naming the file/field and the fix."""


def zoo_spec(name: str) -> Path:
    """Path of a zoo spec by short name (``"tiny"`` → ``json_params/tiny.json``)."""
    path = ZOO_DIR / (name if name.endswith(".json") else f"{name}.json")
    if not path.exists():
        known = sorted(p.stem for p in ZOO_DIR.glob("*.json"))
        raise YeastzoiError(f"{path}: no such zoo spec; known specs: {', '.join(known)}")
    return path
