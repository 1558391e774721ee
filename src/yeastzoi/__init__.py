"""yeastzoi: a Keras 3 model zoo for yeast regulatory genomics.

Library modules never parse argv and never print; the scripts in ``bin/`` do.

The zoo ships with the package: ``ZOO_DIR`` holds the JSON specs (``json_params/`` of the
repository) and ``DATA_DIR`` the pretrained models (``data/``). In a source checkout
(``pip install -e .``) both are the repository's own folders; in an installed wheel they are
the copies ``setup.py`` puts inside the package (``yeastzoi/zoo/``, ``yeastzoi/zoo_data/``).
"""
import os
from pathlib import Path

# TensorFlow's C++ start-up chatter would precede every one-line error; users can still set it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

_HERE = Path(__file__).resolve().parent
#: The source checkout this package runs from (``src/yeastzoi`` beside setup.cfg), else None.
_CHECKOUT = _HERE.parents[1] if _HERE.parent.name == "src" and (_HERE.parents[1] / "setup.cfg").is_file() else None

#: Folder of the zoo's JSON specs (the repository's ``json_params/``; ``yeastzoi/zoo/`` in a wheel).
ZOO_DIR = _CHECKOUT / "json_params" if _CHECKOUT else _HERE / "zoo"
#: Folder of the shipped pretrained models, one sub-folder each (``data/r64_lm/model_best.h5``;
#: ``yeastzoi/zoo_data/`` in a wheel).
DATA_DIR = _CHECKOUT / "data" if _CHECKOUT else _HERE / "zoo_data"
#: File names a shipped model folder may hold its model in, in order of preference.
MODEL_FILES = ("model_best.h5", "model_best.keras", "model.h5", "model.keras")


class YeastzoiError(ValueError):
    """A user-facing error whose message is one line naming the file/field and the fix."""


def zoo_specs() -> list[str]:
    """Short names of the zoo's specs (``["lm_dilated_cnn_large", ..., "tiny_lm"]``)."""
    return sorted(p.stem for p in ZOO_DIR.glob("*.json"))


def zoo_spec(name: str) -> Path:
    """Path of a zoo spec by short name (``"tiny"`` or ``"tiny.json"`` → ``json_params/tiny.json``)."""
    path = ZOO_DIR / (name if name.endswith(".json") else f"{name}.json")
    if "/" in name or not path.is_file():
        raise YeastzoiError(f"{name}: no such zoo spec; known specs: {', '.join(zoo_specs()) or 'none'}")
    return path


def _model_file(folder: Path) -> Path | None:
    return next((folder / f for f in MODEL_FILES if (folder / f).is_file()), None)


def zoo_models() -> list[str]:
    """Short names of the shipped pretrained models (sub-folders of ``DATA_DIR`` with a model file)."""
    if not DATA_DIR.is_dir():
        return []
    return sorted(p.name for p in DATA_DIR.iterdir() if p.is_dir() and _model_file(p))


def zoo_model(name: str) -> Path:
    """Path of a shipped pretrained model by short name (``"r64_lm"`` → ``data/r64_lm/model_best.h5``);
    its ``model_meta.json`` and history lie beside it."""
    path = _model_file(DATA_DIR / name) if name and "/" not in name and name not in (".", "..") else None
    if path is None:
        raise YeastzoiError(f"{name}: no such shipped model; known models: {', '.join(zoo_models()) or 'none'}"
                            f" (in {DATA_DIR})")
    return path


def lazy_exports(package: str, exports: dict[str, str]):
    """PEP 562 ``__getattr__`` and ``__dir__`` for a subpackage whose public names
    (``exports``: name → module inside ``package``) are imported on first use, so importing a
    light name never pulls in TensorFlow. Each subpackage ``__init__`` does::

        __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
    """
    import importlib

    def __getattr__(name):
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f".{module}", package), name)

    def __dir__():
        return sorted(set(vars(importlib.import_module(package))) | set(exports))

    return __getattr__, __dir__
