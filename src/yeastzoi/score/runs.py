"""What the variant-scoring scripts (yeastzoi_snp.py, yeastzoi_snpgene.py) share, as library
functions: load the inputs of a run (genome, the shard's variants, models, targets sheet) and
write its outputs (scores.h5 [, scores.tsv]).

    run = load_variant_run(args.params, args.models, args.variants, args.fasta, shard="2/8")
    res = score_variants(run.models, run.genome, run.variants, opts, targets_df=run.targets)
    write_variant_outputs("out", res, run.shard, args.variants, tsv=True)
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
from pathlib import Path

from .. import YeastzoiError
from .engine import resolve_targets
from .results import ScoreResult, write_scores_h5, write_scores_tsv

log = logging.getLogger(__name__)


@dataclasses.dataclass
class VariantRun:
    genome: object
    variants: list
    models: list
    targets: object          # targets sheet (DataFrame) or None
    shard: tuple[int, int]


def load_variant_run(params, model_paths, variants_path, fasta, shard: str | None = None,
                     flip: bool = False, targets_path=None, untransform: bool = True,
                     lm: bool = False, duplicates: str = "keep", n_alleles: str = "keep") -> VariantRun:
    """Genome, variants (of ``shard`` "i/N"), models (:func:`yeastzoi.model.loader.load_models`;
    ``params`` '-' or None = the specs stored in the models) and the targets sheet
    (``targets_path``, else targets.txt beside the first model; none for ``lm`` or without
    untransforming unless given)."""
    from ..genome import Genome
    from ..model.loader import load_models
    from .variants import parse_shard, read_variants, shard_variants

    sh = parse_shard(shard)
    genome = Genome(fasta)
    variants, _ = read_variants(variants_path, genome, flip=flip, duplicates=duplicates, n_alleles=n_alleles)
    variants = shard_variants(variants, sh)
    if sh[1] > 1:
        log.info("shard %d/%d: %d variants", sh[0], sh[1], len(variants))
        if not variants:
            raise YeastzoiError(f"--shard {shard}: this shard holds no variants; use fewer shards")
    models = load_models(model_paths, params)
    targets = None
    if not lm and untransform:
        targets = resolve_targets(targets_path, model_paths[0], models[0].meta)
    elif targets_path:
        targets = resolve_targets(targets_path, None, models[0].meta)
    return VariantRun(genome, variants, models, targets, sh)


@dataclasses.dataclass
class Haplotype:
    """The sequence variants are scored on: the reference (``background`` None) or a strain
    (:mod:`yeastzoi.score.background`) with the variants lifted into it."""
    genome: object
    variants: list
    reference_variants: list
    background: object = None
    kept: list | None = None
    skipped: object = None

    def genes(self, genes, exons):
        """Gene table and exons in the haplotype's coordinates."""
        if self.background is None:
            return genes, exons
        from .background import lift_genes

        return lift_genes(genes, exons, self.background)

    def finish(self, result: ScoreResult) -> ScoreResult:
        """Report the scored variants in reference coordinates, as given; record the background."""
        if self.background is not None:
            result.variants = [self.reference_variants[i] for i in self.kept]
            result.attrs.update(background_sample=self.background.name,
                                background_applied=int(self.background.counts["applied"]),
                                background_skipped=int(len(self.skipped)))
        return result


@contextlib.contextmanager
def haplotype(run: VariantRun, fasta, background=None, sample: str | None = None, het: str = "ref"):
    """Yield the :class:`Haplotype` to score ``run.variants`` on: the reference, or the strain
    ``sample`` of the ``background`` VCF (built in a temporary folder for the run)."""
    if background is None:
        if sample is not None:
            raise YeastzoiError("--sample names a strain of --background; give --background VARIANTS.vcf too")
        yield Haplotype(run.genome, run.variants, run.variants)
        return
    from .background import lift_variants, strain_background

    with strain_background(fasta, background, sample, het) as bg:
        lifted, kept, skipped = lift_variants(run.variants, bg)
        yield Haplotype(bg.genome, lifted, run.variants, bg, kept, skipped)


def write_variant_outputs(out_dir, result: ScoreResult, shard: tuple[int, int], variants_file,
                          tsv: bool = False, skipped=None) -> list[Path]:
    """OUT/scores.h5 (with the shard and variants file as attributes) and, with ``tsv``,
    OUT/scores.tsv; ``skipped`` (a table of variants a strain background could not place)
    → OUT/background_skipped.tsv. Returns the paths written."""
    result.attrs["shard"] = f"{shard[0]}/{shard[1]}"
    result.attrs["variants_file"] = str(variants_file)
    out = Path(out_dir)
    paths = [write_scores_h5(out / "scores.h5", result)]
    log.info("wrote %s (%d rows × %d tracks; %s)", paths[0], len(next(iter(result.stats.values()))),
             len(result.target_ids), ", ".join(result.stats))
    if tsv:
        paths.append(write_scores_tsv(out / "scores.tsv", result))
        log.info("wrote %s", paths[-1])
    if skipped is not None:
        from ..fileio import atomic_path

        with atomic_path(out / "background_skipped.tsv") as tmp:
            skipped.to_csv(tmp, sep="\t", index=False)
        paths.append(out / "background_skipped.tsv")
    return paths
