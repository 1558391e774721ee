"""Build hook only (metadata and dependencies are in setup.cfg).

The zoo ships inside the wheel while the repository's top-level folders stay the source:
``json_params/*.json`` is copied into the package as ``yeastzoi/zoo/`` and ``data/**`` as
``yeastzoi/zoo_data/``, so a model file placed in ``data/`` ships with the next build.
An editable install (``pip install -e .``) copies nothing: ``yeastzoi.ZOO_DIR`` and
``yeastzoi.DATA_DIR`` point at the checkout's own folders there.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: repository folder → folder inside the package, and which files of it ship
SHIPPED = {"json_params": ("zoo", "*.json"), "data": ("zoo_data", "**/*")}
SKIP = {"__pycache__", ".ipynb_checkpoints", ".DS_Store"}


class BuildPyWithZoo(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for source, (target, pattern) in SHIPPED.items():
            dest = Path(self.build_lib) / "yeastzoi" / target
            shutil.rmtree(dest, ignore_errors=True)
            for path in sorted((ROOT / source).glob(pattern)):
                rel = path.relative_to(ROOT / source)
                if path.is_file() and not any(part in SKIP or part.startswith(".") for part in rel.parts):
                    (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, dest / rel)


setup(cmdclass={"build_py": BuildPyWithZoo})
