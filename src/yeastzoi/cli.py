"""Shared plumbing for the ``bin/`` scripts: logging, one-line errors, ``--set`` overrides.

    def main(argv=None):
        ap = cli.parser(__doc__)
        cli.add_params_arguments(ap)          # params.json + repeatable --set PATH=VALUE
        args = ap.parse_args(argv)
        cli.setup_logging(args)
        ...

    if __name__ == "__main__":
        cli.run(main)

``run`` turns a :class:`~yeastzoi.YeastzoiError` into ``error: <message>`` on stderr and
exit status 2 (no traceback).
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path

from . import YeastzoiError


def parser(doc: str | None) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    return ap


def add_params_arguments(ap: argparse.ArgumentParser, positional: bool = True) -> None:
    """``params`` (a params.json) and repeatable ``--set PATH=VALUE`` JSON-path overrides."""
    if positional:
        ap.add_argument("params", help="params.json (baskerville format)")
    add_set_argument(ap)


def add_set_argument(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                    help="override a spec value, e.g. --set train.learning_rate=2e-5 "
                         "--set model.trunk[2].repeat=4 (repeatable; VALUE is JSON)")


def load_params_arg(args) -> dict:
    from .model.params import load_params
    return load_params(args.params, overrides=args.overrides)


def effective_params_path(args, out) -> str | None:
    """Apply ``--set`` overrides to ``args.params``, save the effective spec beside the output
    (``out`` is the output folder, or a file whose folder is used) and return its path, which
    the script then reads instead. ``-`` (use the spec stored in the model) is returned as is."""
    if args.params in (None, "-"):
        if getattr(args, "overrides", None):
            raise YeastzoiError("--set needs a params.json (not '-')")
        return args.params
    out = Path(out)
    folder = out if not out.suffix else out.parent
    return str(save_effective_params(load_params_arg(args), folder))


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
    ap.add_argument("-o", "--out", required=True, help="output folder")
    ap.add_argument("--stats", default=stats, help=f"statistics, comma-separated [{stats}]")
    ap.add_argument("--rc", action="store_true", help="average forward and reverse-complement predictions")
    ap.add_argument("--shifts", default="0", help="comma-separated input shifts, bp [0]")
    ap.add_argument("--targets", help="targets sheet (default: targets.txt beside the model)")
    ap.add_argument("--no-untransform", action="store_true", help="score in the models' transformed space")
    ap.add_argument("--species", help="species channel (default: the model's first species)")
    ap.add_argument("--batch-size", type=int, default=8, help="sequences per model call [8]")


def scoring_options(args):
    """:class:`yeastzoi.score.snps.ScoreOptions` from :func:`add_scoring_arguments`' options."""
    from .score.snps import ScoreOptions, parse_shifts, parse_stats
    return ScoreOptions(stats=parse_stats(args.stats), rc=args.rc, shifts=parse_shifts(args.shifts),
                        untransform=not args.no_untransform, batch_size=args.batch_size,
                        species=args.species).check()


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


def call(main, argv=None) -> int:
    """Call ``main(argv)`` and return its exit status; a YeastzoiError becomes a one-line
    ``error:`` message on stderr and status 2 (what users see; tests call this too)."""
    try:
        return main(argv) or 0
    except YeastzoiError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


def run(main) -> None:
    """Entry point of a ``bin/`` script: exit with :func:`call`'s status."""
    sys.exit(call(main))
