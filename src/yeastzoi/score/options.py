"""Settings of a scoring run: :class:`ScoreOptions`, the statistic names, and the options the
variant-scoring scripts (yeastzoi_snp.py, yeastzoi_snpgene.py) share.

    opts = ScoreOptions(stats=("SAD", "logSED"), rc=True, shifts=(0, 1)).check()
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

from .. import YeastzoiError
from ..model.predictor import parse_shifts

STATS = ("SAD", "logSAD", "SED", "logSED", "D1", "D2", "JS")
LM_STATS = ("LLR",)
SPECIES_HELP = ("species channel (name or index) of species-conditioned models [the model's stored "
                "target species; required for a multi-species model that names none]")


@dataclasses.dataclass
class ScoreOptions:
    """Settings of a scoring run (all stored as attributes of scores.h5)."""

    stats: Sequence[str] = ("SAD", "logSED")
    rc: bool = False
    shifts: Sequence[int] = (0,)
    untransform: bool = True
    batch_size: int = 8
    cluster_bp: int = 0
    stitch: str = "left"
    sed_bp: int = 1024
    species: str | None = None
    compiled: bool | None = None   # None: compiled predict function for all but tiny jobs
    reuse_tower: bool = True       # an alternative differing in a short span reuses its reference's tower

    def check(self) -> "ScoreOptions":
        self.stats = parse_stats(self.stats)
        if self.stitch not in ("left", "right"):
            raise YeastzoiError(f"--stitch {self.stitch}: expected left or right")
        if self.batch_size < 1:
            raise YeastzoiError(f"--batch-size {self.batch_size}: must be >= 1")
        if self.cluster_bp < 0 or self.sed_bp < 0:
            raise YeastzoiError("--cluster-bp and --sed-bp must be >= 0")
        self.shifts = parse_shifts(self.shifts)
        return self


def parse_stats(stats, allowed=STATS + LM_STATS) -> list[str]:
    """``"SAD,logSED"`` or a list → validated list (case-insensitive names)."""
    if isinstance(stats, str):
        stats = [s for s in stats.split(",") if s.strip()]
    canon = {s.lower(): s for s in allowed}
    out = []
    for s in stats:
        key = s.strip().lower()
        if key not in canon:
            raise YeastzoiError(f"--stats {s}: unknown statistic; choose from {', '.join(allowed)}")
        if canon[key] not in out:
            out.append(canon[key])
    if not out:
        raise YeastzoiError("--stats: give at least one statistic")
    return out


def add_scoring_options(ap, stats: str) -> None:
    """The options every scorer shares (variants, ISM, insertions, deletion scans): --stats,
    --rc, --shifts, --targets, --no-untransform, --species, --batch-size."""
    ap.add_argument("--stats", default=stats, help=f"comma-separated: {','.join(STATS)} [{stats}]")
    ap.add_argument("--rc", action="store_true", help="average forward and reverse-complement predictions")
    ap.add_argument("--shifts", default="0", help="comma-separated shifts (bp) to average, e.g. 0,1,-1 [0]")
    ap.add_argument("--targets", help="targets sheet for untransforming (default: targets.txt beside the model)")
    ap.add_argument("--no-untransform", action="store_true", help="keep predictions in the model's transformed space")
    ap.add_argument("--species", help=SPECIES_HELP)
    ap.add_argument("--batch-size", type=int, range=(1, None), default=8, help="sequences per model call [8]")
    ap.add_argument("--whole-alt", action="store_true",
                    help="predict every alternative sequence whole; by default one that differs from its "
                         "reference in a short span (SNVs, MNPs) recomputes only the tower positions the edit "
                         "reaches (the same scores within float tolerance, about half the work)")


def add_variant_arguments(ap, stats: str = "SAD,logSED") -> None:
    """The arguments of the variant-scoring scripts (defined here so that yeastzoi_snp.py and
    yeastzoi_snpgene.py share them without importing each other; the scripts add ``--set``
    and ``-q`` through :mod:`yeastzoi.cli`)."""
    ap.add_argument("params", help="params.json the models were trained with ('-' = spec stored in the model)")
    ap.add_argument("models", nargs="+", help="model file(s) (.h5/.keras); several = mean and spread")
    ap.add_argument("variants", help="VCF (1-based) or TSV with chrom, pos, ref, alt")
    ap.add_argument("-f", "--fasta", required=True, help="reference FASTA")
    ap.add_argument("-o", "--out", required=True, help="output folder (scores.h5 [, scores.tsv])")
    add_scoring_options(ap, stats)
    ap.add_argument("--flip", action="store_true", help="swap REF/ALT where ALT matches the FASTA instead of REF")
    ap.add_argument("--stitch", choices=("left", "right"), default="left", help="indel window stitching [left]")
    ap.add_argument("--cluster-bp", type=int, range=(0, None), default=0,
                    help="variants within this many bp share one window and reference prediction [0]")
    ap.add_argument("--shard", help="i/N: score only the i-th of N contiguous parts (1-based)")
    ap.add_argument("--tsv", action="store_true", help="also write scores.tsv (one line per variant × track)")
    ap.add_argument("--duplicates", choices=("keep", "drop"), default="keep",
                    help="records repeating an earlier variant: keep (scored again) or drop; counted either way [keep]")
    ap.add_argument("--n-alleles", choices=("keep", "drop"), default="keep",
                    help="variants with N in REF or ALT: keep or drop; counted either way [keep]")
    bg = ap.add_argument_group("strain background (variants still given in reference coordinates)")
    bg.add_argument("--background", metavar="VCF",
                    help="score each variant on this strain's haplotype: the strain's other variants in the "
                         "window are in both the reference and the alternative sequence")
    bg.add_argument("--sample", help="the --background VCF sample (strain)")
    bg.add_argument("--het", choices=("ref", "alt", "error"), default="ref",
                    help="heterozygous background calls [ref: keep the reference]")


def options_from_args(args) -> ScoreOptions:
    """:class:`ScoreOptions` from :func:`add_variant_arguments`' (or the edit scorers') options."""
    return ScoreOptions(stats=parse_stats(args.stats), rc=args.rc, shifts=parse_shifts(args.shifts),
                        untransform=not args.no_untransform, batch_size=args.batch_size,
                        cluster_bp=getattr(args, "cluster_bp", 0), stitch=getattr(args, "stitch", "left"),
                        sed_bp=getattr(args, "sed_bp", 1024), species=args.species,
                        reuse_tower=not getattr(args, "whole_alt", False)).check()
