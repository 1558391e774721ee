"""yeastzoi.score (see DESIGN.md for what this stage holds).

Public names are imported lazily (PEP 562) so that importing a light name never pulls in
TensorFlow; ``from yeastzoi.score import X`` works for every name in ``__all__``.
"""
import importlib

_EXPORTS = {
    'Variant': 'variants',
    'ReadReport': 'variants',
    'read_variants': 'variants',
    'parse_shard': 'variants',
    'shard_variants': 'variants',
    'STATS': 'snps',
    'LM_STATS': 'snps',
    'JS_EPS': 'snps',
    'FLOAT16_MAX': 'snps',
    'ScoreOptions': 'snps',
    'parse_stats': 'snps',
    'parse_shifts': 'snps',
    'species_index': 'snps',
    'COMPILE_MIN_BATCHES': 'snps',
    'Predictor': 'snps',
    'check_models': 'snps',
    'resolve_targets': 'snps',
    'target_labels': 'snps',
    'track_strands': 'snps',
    'window_start': 'snps',
    'ref_codes': 'snps',
    'alt_codes': 'snps',
    'compute_stats': 'snps',
    'bins_overlapping': 'snps',
    'exon_bins': 'snps',
    'Job': 'snps',
    'ScoreResult': 'snps',
    'score_variants': 'snps',
    'gene_window_start': 'snps',
    'score_variant_genes': 'snps',
    'score_variants_lm': 'snps',
    'write_scores_h5': 'snps',
    'read_scores_h5': 'snps',
    'write_scores_tsv': 'snps',
    'merge_scores': 'snps',
    'load_models': 'snps',
    'variant_scores': 'snps',
    'select_tracks': 'snps',
    'eqtl_benchmark': 'snps',
    'plot_roc': 'snps',
    'truth_accuracy': 'snps',
    'GeneInfo': 'edits',
    'find_gene': 'edits',
    'load_annotation': 'edits',
    'ism': 'edits',
    'write_ism_h5': 'edits',
    'plot_ism': 'edits',
    'insertion_scores': 'edits',
    'deletion_scan': 'edits',
    'plot_deletion_scan': 'edits',
    'write_table_h5': 'edits',
    'write_table_tsv': 'edits',
    'read_inserts': 'edits',
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
