"""What the variant-scoring scripts (yeastzoi_snp.py, yeastzoi_snpgene.py) share, as library
functions: load the inputs of a run (genome, the shard's variants, models, targets sheet) and
write its outputs (scores.h5 [, scores.tsv]).

    run = load_variant_run(args.params, args.models, args.variants, args.fasta, shard="2/8")
    res = score_variants(run.models, run.genome, run.variants, opts, targets_df=run.targets)
    write_variant_outputs("out", res, run.shard, args.variants, tsv=True)
"""
from __future__ import annotations

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
                     lm: bool = False) -> VariantRun:
    """Genome, variants (of ``shard`` "i/N"), models (:func:`yeastzoi.model.loader.load_models`;
    ``params`` '-' or None = the specs stored in the models) and the targets sheet
    (``targets_path``, else targets.txt beside the first model; none for ``lm`` or without
    untransforming unless given)."""
    from ..genome import Genome
    from ..model.loader import load_models
    from .variants import parse_shard, read_variants, shard_variants

    sh = parse_shard(shard)
    genome = Genome(fasta)
    variants, _ = read_variants(variants_path, genome, flip=flip)
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


def write_variant_outputs(out_dir, result: ScoreResult, shard: tuple[int, int], variants_file,
                          tsv: bool = False) -> list[Path]:
    """OUT/scores.h5 (with the shard and variants file as attributes) and, with ``tsv``,
    OUT/scores.tsv. Returns the paths written."""
    result.attrs["shard"] = f"{shard[0]}/{shard[1]}"
    result.attrs["variants_file"] = str(variants_file)
    out = Path(out_dir)
    paths = [write_scores_h5(out / "scores.h5", result)]
    log.info("wrote %s (%d rows × %d tracks; %s)", paths[0], len(next(iter(result.stats.values()))),
             len(result.target_ids), ", ".join(result.stats))
    if tsv:
        paths.append(write_scores_tsv(out / "scores.tsv", result))
        log.info("wrote %s", paths[-1])
    return paths
