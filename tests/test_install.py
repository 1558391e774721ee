"""A real install: the wheel carries the package, the zoo specs (json_params/ → yeastzoi/zoo/),
the shipped data (data/ → yeastzoi/zoo_data/) and every bin/ script, and an installed
yeastzoi finds its specs and models by short name. (.ci/run also installs the wheel into a
fresh virtual environment and runs a script from another folder.)"""
import configparser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import yeastzoi

ROOT = Path(__file__).resolve().parents[1]


def test_setup_cfg_lists_every_script():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = [s.strip() for s in cfg["options"]["scripts"].split("\n") if s.strip()]
    assert listed == sorted(f"bin/{p.name}" for p in (ROOT / "bin").glob("*.py"))


def test_checkout_uses_its_own_folders():
    assert yeastzoi.ZOO_DIR == ROOT / "json_params"
    assert yeastzoi.DATA_DIR == ROOT / "data"
    assert yeastzoi.zoo_spec("shorkie_lm") == ROOT / "json_params" / "shorkie_lm.json"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel of a copy of this checkout with a model folder added to data/ (a model
    placed in data/ later ships the same way)."""
    tree = tmp_path_factory.mktemp("tree")
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for name in ("src", "bin", "json_params", "data"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, tree / name, ignore=junk)
    for name in ("setup.cfg", "setup.py", "pyproject.toml", "MANIFEST.in", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    model = tree / "data" / "added_lm"
    model.mkdir(parents=True)
    for name in ("model_best.h5", "model_meta.json", "history.csv"):
        (model / name).write_text(f"{name} placeholder\n")
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(tree), "-w", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    wheels = list(out.glob("yeastzoi-*.whl"))
    assert len(wheels) == 1
    return wheels[0], tree


def test_wheel_carries_package_zoo_data_and_scripts(wheel):
    path, tree = wheel
    names = zipfile.ZipFile(path).namelist()
    modules = sorted(n for n in names if n.startswith("yeastzoi/") and n.endswith(".py"))
    assert modules == sorted(f"yeastzoi/{p.relative_to(tree / 'src' / 'yeastzoi').as_posix()}"
                             for p in (tree / "src" / "yeastzoi").rglob("*.py"))
    assert sorted(n for n in names if n.startswith("yeastzoi/zoo/")) == \
        sorted(f"yeastzoi/zoo/{p.name}" for p in (ROOT / "json_params").glob("*.json"))
    data = sorted(n for n in names if n.startswith("yeastzoi/zoo_data/"))
    assert data == sorted(f"yeastzoi/zoo_data/{p.relative_to(tree / 'data').as_posix()}"
                          for p in (tree / "data").rglob("*") if p.is_file())
    assert {f"yeastzoi/zoo_data/added_lm/{n}" for n in ("model_best.h5", "model_meta.json", "history.csv")} <= set(data)
    scripts = sorted(n.rsplit("/", 1)[1] for n in names if ".data/scripts/" in n)
    assert scripts == sorted(p.name for p in (ROOT / "bin").glob("*.py"))
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    meta = zipfile.ZipFile(path).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    tf = [line for line in meta.splitlines() if line.startswith(("Requires-Dist: tensorflow", "Requires-Dist: jax"))]
    assert sorted(tf) == ["Requires-Dist: jax[cpu]<0.11,>=0.4.30; extra == \"jax\"",
                          "Requires-Dist: tensorflow<2.22,>=2.18",
                          "Requires-Dist: tensorflow[and-cuda]<2.22,>=2.18; extra == \"gpu\""]


def test_installed_package_finds_specs_and_models_by_short_name(wheel, tmp_path):
    path, _ = wheel
    site = tmp_path / "site"
    zipfile.ZipFile(path).extractall(site)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import yeastzoi; "
            "print(yeastzoi.ZOO_DIR); print(yeastzoi.zoo_spec('shorkie_lm')); print(yeastzoi.zoo_model('added_lm'))")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = subprocess.run([sys.executable, "-I", "-c", code, str(site)], capture_output=True, text=True,
                       cwd=elsewhere, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [str(site / "yeastzoi" / "zoo"), str(site / "yeastzoi" / "zoo" / "shorkie_lm.json"),
                                     str(site / "yeastzoi" / "zoo_data" / "added_lm" / "model_best.h5")]
