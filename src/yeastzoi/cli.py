"""Shared plumbing for the ``bin/`` scripts: logging, one-line errors, ``--set`` overrides,
zoo short names, and a clean stderr.

    def main(argv=None):
        ap = cli.parser(__doc__)
        cli.add_params_arguments(ap)          # params.json + repeatable --set PATH=VALUE
        ap.add_argument("model")
        args = ap.parse_args(argv)
        cli.check_inputs(args, "params", "model")   # before anything imports TensorFlow
        cli.setup_logging(args)
        from yeastzoi.model.seqnn import SeqNN      # heavy imports after the checks
        ...

    if __name__ == "__main__":
        cli.run(main)

``run`` turns a :class:`~yeastzoi.YeastzoiError` into ``error: <message>`` on stderr and
exit status 2 (no traceback). It also sends file descriptor 2 through a small filter process
(:mod:`yeastzoi.stderr_filter`) that drops TensorFlow's C++ start-up lines and passes
everything else through unchanged, progress bars included.

A params.json argument may be a zoo spec's short name (``shorkie_lm``) and a model argument a
shipped model's short name (``r64_lm``): :func:`params_path`, :func:`model_path`.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from . import YeastzoiError, zoo_model, zoo_models, zoo_spec, zoo_specs
from .stderr_filter import FRESH_LINE, filter_running, start_stderr_filter, stop_stderr_filter


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the scripts' conventions: a usage error is a one-line ``error:`` (exit 2,
    through :func:`call`) and numeric options declare their valid range,
    ``add_argument("--stride", type=int, range=(1, None))`` (bounds inclusive; None = open).
    ``range=None`` states that every value is valid (a seed, a signed shift); an ``int`` or
    ``float`` option without ``range`` is refused, so no numeric option goes unchecked."""

    #: every parser that parsed arguments in this process (tests introspect them)
    parsed: list = []

    def __init__(self, *a, **kw):
        kw.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*a, **kw)

    def add_argument(self, *names, **kw):
        if "range" in kw:
            bounds = kw.pop("range")
            kind = kw.get("type")
            if kind not in (int, float):
                raise TypeError(f"{names}: range= needs type=int or float")
            kw["type"] = bounded(kind, *(bounds or (None, None)))
        elif kw.get("type") in (int, float):
            raise TypeError(f"{names}: a numeric option declares range=(lo, hi) or range=None")
        return super().add_argument(*names, **kw)

    def parse_known_args(self, args=None, namespace=None):
        ArgumentParser.parsed.append(self)
        return super().parse_known_args(args, namespace)

    def error(self, message):
        raise YeastzoiError(f"{message} (see {self.prog} --help)")


def bounded(kind, lo=None, hi=None):
    """An argparse type: ``kind`` (int or float) within [lo, hi] (None = unbounded); the
    callable carries ``kind``, ``lo`` and ``hi`` for tests."""
    def convert(text):
        try:
            value = kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") \
                from None
        if kind is float and value != value:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            want = (f"between {lo} and {hi}" if lo is not None and hi is not None
                    else f">= {lo}" if lo is not None else f"<= {hi}")
            raise argparse.ArgumentTypeError(f"must be {want}, got {text}")
        return value
    convert.kind, convert.lo, convert.hi = kind, lo, hi
    convert.__name__ = kind.__name__
    return convert


def parser(doc: str | None) -> ArgumentParser:
    ap = ArgumentParser(description=doc)
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    return ap


def check_output_file(path) -> Path:
    """An output FILE (written atomically beside itself): its folder is created if missing and
    must be writable — checked before any work, a one-line error otherwise."""
    from .outdir import probe_writable

    path = Path(path)
    if path.is_dir():
        raise YeastzoiError(f"{path}: is a folder; give a file name for the output")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise YeastzoiError(f"{path}: cannot create its folder {path.parent} ({exc.strerror or exc}); "
                            "choose another output path") from None
    probe_writable(path.parent, "output file's folder")
    return path


# ---------------------------------------------------------------- the output folder of a run
#: the :class:`yeastzoi.outdir.OutputFolder` claimed by the running script (finished by :func:`call`)
_OUTPUT: list = []


def own_output(args, name: str = "out") -> Path:
    """Claim the output folder ``args.<name>`` for this run (:mod:`yeastzoi.outdir`: checked
    writable, locked, results staged) and point ``args.<name>`` at the staging folder; the
    real folder stays in ``args.<name>_final``. :func:`call` publishes the staged results
    when ``main`` succeeds and discards them otherwise. Call it after the inputs are checked
    and before any work."""
    from .outdir import OutputFolder

    final = Path(getattr(args, name))
    folder = OutputFolder(final)
    stage = folder.claim()
    _OUTPUT.append(folder)
    hold = os.environ.get("YEASTZOI_HOLD_OUTPUT")  # tests: pause while owning -o until this file exists
    if hold:
        import time
        deadline = time.monotonic() + 120
        while not Path(hold).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    setattr(args, f"{name}_final", final)
    setattr(args, name, str(stage))
    return stage


def add_params_arguments(ap: argparse.ArgumentParser, positional: bool = True) -> None:
    """``params`` (a params.json) and repeatable ``--set PATH=VALUE`` JSON-path overrides."""
    if positional:
        ap.add_argument("params", help="params.json (baskerville format), or a zoo spec's short "
                                       "name (shorkie_lm, tiny, ...)")
    add_set_argument(ap)


def add_set_argument(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                    help="override a spec value, e.g. --set train.learning_rate=2e-5 "
                         "--set model.trunk[2].repeat=4 (repeatable; VALUE is JSON)")


def load_params_arg(args) -> dict:
    from .model.params import load_params
    return load_params(params_path(args.params), overrides=getattr(args, "overrides", None) or [])


# ---------------------------------------------------------------- input paths and short names
def _zoo_path(text, lookup, names, folder_msg: str, kind: str, label: str) -> str:
    """``text`` as an existing file, else ``lookup(text)`` (a zoo short name); one-line errors."""
    if Path(text).is_file():
        return text
    if Path(text).exists():
        raise YeastzoiError(f"{text}: is a folder, not {folder_msg}")
    try:
        return str(lookup(str(text)))
    except YeastzoiError:
        raise YeastzoiError(f"{text}: no such {kind} ({label}: {', '.join(names()) or 'none'})") from None


def params_path(text: str | None) -> str | None:
    """A params.json argument as a path: an existing file as given, else a zoo spec's short
    name (``shorkie_lm``, ``tiny.json``) from any folder; ``None`` and ``-`` (the spec stored
    in the model) pass through. Anything else is a one-line error listing the zoo's specs."""
    if text in (None, "-"):
        return text
    return _zoo_path(text, zoo_spec, zoo_specs, "a params.json", "params file or zoo spec",
                     "zoo specs")


def model_path(text: str | None) -> str | None:
    """A model argument as a path: an existing file as given, else a shipped model's short name
    (``r64_lm`` → the package's ``data/r64_lm/model_best.h5``, :func:`yeastzoi.zoo_model`).
    Anything else is a one-line error listing the shipped models."""
    if text is None:
        return text
    return _zoo_path(text, zoo_model, zoo_models, "a model file (.h5 / .keras)",
                     "model file or shipped model", "shipped models")


def input_path(text: str | None, what: str = "file") -> str | None:
    """An input file or folder that must exist (``None`` passes through)."""
    if text is not None and not Path(text).exists():
        raise YeastzoiError(f"{text}: no such {what}; check the path")
    return text


#: what an input argument is, for its "no such ..." message
INPUT_KINDS = {"bam": "BAM file", "fasta": "FASTA file", "gtf": "annotation file (GTF/GFF3)", "vcf": "VCF file", "background": "VCF file",
               "variants": "variants file", "bed": "BED", "targets": "targets sheet", "chrom_sizes": "chrom.sizes",
               "strain": "strain folder", "genome_dir": "genome folder"}
#: Argument names :func:`check_inputs` resolves as specs / models rather than plain paths.
PARAMS_ARGS = ("params",)
MODEL_ARGS = ("model", "models", "restore", "compare")


def check_inputs(args, *names: str) -> None:
    """Resolve and check the input arguments ``names`` of ``args`` in place, before anything
    heavy is imported: ``params`` through :func:`params_path` (zoo short names), ``model``,
    ``models``, ``restore`` and ``compare`` through :func:`model_path` (shipped models), any
    other name must be an existing path. List values are checked item by item; ``None`` and
    absent attributes are skipped."""
    for name in names:
        value = getattr(args, name, None)
        if value is None:
            continue
        if name in PARAMS_ARGS or name in MODEL_ARGS:
            check = params_path if name in PARAMS_ARGS else model_path
        else:
            what = INPUT_KINDS.get(name, "file")
            check = lambda v, what=what: input_path(v, what)  # noqa: E731
        setattr(args, name, [check(v) for v in value] if isinstance(value, list) else check(value))


def effective_params_path(args, out) -> str | None:
    """Apply ``--set`` overrides to ``args.params`` and return the path of the effective spec,
    which the script then reads instead. The spec is written to a temporary file and lands
    as ``params.json`` beside the output (``out``: the output folder, or a file whose folder
    is used) only when the script succeeds (:func:`call`), so a failed run never leaves a
    params.json that disagrees with the results already in that folder. ``-`` (use the spec
    stored in the model) is returned as is."""
    args.params = params_path(args.params)
    if args.params in (None, "-"):
        if getattr(args, "overrides", None):
            raise YeastzoiError("--set needs a params.json (not '-')")
        return args.params
    out = Path(out)
    folder = out if out.is_dir() or not out.suffix else out.parent
    params = load_params_arg(args)
    tmp = Path(tempfile.mkdtemp(prefix="yeastzoi-params-"))
    _ON_SUCCESS.append((save_effective_params(params, tmp), folder / "params.json"))
    return str(tmp / "params.json")


#: (temporary file, destination) pairs that :func:`call` moves into place when main succeeds
_ON_SUCCESS: list[tuple[Path, Path]] = []


def _finish_outputs(success: bool) -> None:
    try:
        _finish_params(success)
    finally:
        while _OUTPUT:
            _OUTPUT.pop().finish(success)


def _finish_params(success: bool) -> None:
    while _ON_SUCCESS:
        tmp, dest = _ON_SUCCESS.pop()
        if success:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(tmp, dest.with_name(f".{dest.name}.tmp"))
            os.replace(dest.with_name(f".{dest.name}.tmp"), dest)
        shutil.rmtree(tmp.parent, ignore_errors=True)


def save_effective_params(params: dict, out_dir) -> Path:
    """Write the effective spec (after overrides and defaults) beside an output."""
    from .fileio import write_json_atomic
    path = Path(out_dir) / "params.json"
    write_json_atomic(path, {k: params[k] for k in ("train", "model") if k in params})
    return path


def setup_logging(args=None, log_file=None) -> None:
    level = logging.WARNING if getattr(args, "quiet", False) else logging.INFO
    handlers = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file))
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S", handlers=handlers, force=True)
    for noisy in ("tensorflow", "absl", "h5py", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def add_scoring_arguments(ap: argparse.ArgumentParser, stats: str = "logSED") -> None:
    """The options every sequence-edit scorer shares (ISM, insertions, deletion scans)."""
    from .score.options import add_scoring_options
    ap.add_argument("-o", "--out", required=True, help="output folder")
    add_scoring_options(ap, stats)


def scoring_options(args):
    """:class:`yeastzoi.score.options.ScoreOptions` from :func:`add_scoring_arguments`' options."""
    from .score.options import options_from_args
    return options_from_args(args)


@contextlib.contextmanager
def progress_bars(quiet: bool = False, unit: str = " seqs"):
    """Yield ``progress(desc, total) -> update`` for library functions that report several
    stages; every tqdm bar it opens is closed on exit."""
    from tqdm import tqdm
    bars = []

    def progress(desc, total):
        bars.append(tqdm(total=total, desc=desc, disable=quiet, unit=unit))
        return bars[-1].update
    try:
        yield progress
    finally:
        for bar in bars:
            bar.close()


def error_line(message: str) -> None:
    """Print ``error: <message>`` on stderr, on a line of its own: progress bars still open
    are closed first (else they would redraw after it at exit) and, with the filter running,
    a bar left mid-line gets its newline."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        tqdm_module = sys.modules.get("tqdm")
        for bar in list(getattr(tqdm_module.tqdm, "_instances", ()) if tqdm_module else ()):
            bar.close()
    if filter_running():
        sys.stderr.flush()
        sys.stderr.write(FRESH_LINE.decode())
    print(f"error: {message}", file=sys.stderr, flush=True)


def call(main, argv=None) -> int:
    """Call ``main(argv)`` and return its exit status (what users see; tests call this too):

    * 0 — success: the effective params.json and the staged output folder (:func:`own_output`)
      are published;
    * 2 — a user error (:class:`YeastzoiError`, a bad option): one ``error:`` line;
    * 130 — interrupted (Ctrl-C);
    * 1 — an internal error: one ``error: internal error ...`` line; the traceback only with
      ``--debug`` (any script; also ``YEASTZOI_DEBUG=1``).
    On any failure the output folder is left exactly as it was."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("YEASTZOI_DEBUG", "") not in ("", "0")
    if "--debug" in argv:
        argv = [a for a in argv if a != "--debug"]
        debug = True
    status = 1
    try:
        status = main(argv) or 0
        return status
    except YeastzoiError as e:
        error_line(str(e))
        status = 2
        return status
    except KeyboardInterrupt:
        error_line("interrupted")
        status = 130
        return status
    except Exception as e:  # noqa: BLE001 - the last line of defence for users
        backend = os.environ.get("KERAS_BACKEND", "tensorflow")
        if isinstance(e, ModuleNotFoundError) and (e.name or "").split(".")[0] == backend:
            extra = " (pip install 'yeastzoi[jax]')" if backend == "jax" else ""
            error_line(f"KERAS_BACKEND={backend} but {backend} is not installed: install it{extra} or unset "
                       "KERAS_BACKEND")
            status = 2
            return status
        if debug:
            import traceback
            traceback.print_exc()
        error_line(f"internal error: {type(e).__name__}: {e} (a bug in yeastzoi; rerun with --debug for the "
                   "traceback and report it)")
        status = 1
        return status
    finally:
        _finish_outputs(status == 0)


def run(main) -> None:
    """Entry point of a ``bin/`` script: filter stderr (:func:`start_stderr_filter`), exit
    with :func:`call`'s status after the filter has written everything out."""
    start_stderr_filter()
    try:
        status = call(main)
    finally:
        stop_stderr_filter()
    sys.exit(status)
