"""yeastzoi.score (see DESIGN.md for what this stage holds).

Public names are imported lazily (PEP 562) so that importing a light name never pulls in
TensorFlow; ``from yeastzoi.score import X`` works for every name in ``__all__``.
"""
import importlib

_EXPORTS = {
    'write_ism_h5': 'edit_files',
    'plot_ism': 'edit_files',
    'plot_deletion_scan': 'edit_files',
    'write_table_h5': 'edit_files',
    'write_table_tsv': 'edit_files',
    'read_inserts': 'edit_files',
    'EditScores': 'edits',
    'ism': 'edits',
    'insertion_scores': 'edits',
    'deletion_scan': 'edits',
    'Job': 'engine',
    'prepare_scoring': 'engine',
    'run_settings': 'engine',
    'resolve_targets': 'engine',
    'target_labels': 'engine',
    'track_strands': 'engine',
    'gene_readout': 'engine',
    'cluster_windows': 'engine',
    'chunk_jobs': 'engine',
    'run_jobs': 'engine',
    'variant_key': 'eqtl',
    'variant_scores': 'eqtl',
    'select_tracks': 'eqtl',
    'auc_ap': 'eqtl',
    'effect_sign': 'eqtl',
    'eqtl_benchmark': 'eqtl',
    'plot_roc': 'eqtl',
    'truth_conditions': 'eqtl',
    'truth_accuracy': 'eqtl',
    'truth_metrics': 'eqtl',
    'GeneInfo': 'genes',
    'find_gene': 'genes',
    'load_annotation': 'genes',
    'score_variants_lm': 'lm',
    'STATS': 'options',
    'LM_STATS': 'options',
    'SPECIES_HELP': 'options',
    'ScoreOptions': 'options',
    'parse_stats': 'options',
    'add_variant_arguments': 'options',
    'options_from_args': 'options',
    'resolve_regions': 'predict_files',
    'check_genome_names': 'predict_files',
    'check_genome': 'predict_files',
    'TrackSet': 'predict_files',
    'prediction_tracks': 'predict_files',
    'safe_names': 'predict_files',
    'preflight': 'predict_files',
    'stream_tracks': 'predict_files',
    'BigWigWriters': 'predict_files',
    'PredictResult': 'predict_files',
    'predict_to_bigwig': 'predict_files',
    'predict_bed': 'predict_files',
    'FLOAT16_MAX': 'results',
    'ScoreResult': 'results',
    'h5_strings': 'results',
    'h5_float16': 'results',
    'h5_attr': 'results',
    'write_scores_h5': 'results',
    'read_scores_h5': 'results',
    'write_scores_tsv': 'results',
    'merge_scores': 'results',
    'VariantRun': 'runs',
    'load_variant_run': 'runs',
    'write_variant_outputs': 'runs',
    'ref_codes': 'sequences',
    'alt_codes': 'sequences',
    'score_variants': 'snps',
    'score_variant_genes': 'snps',
    'JS_EPS': 'stats',
    'compute_stats': 'stats',
    'reduce_models': 'stats',
    'Variant': 'variants',
    'ReadReport': 'variants',
    'read_variants': 'variants',
    'parse_shard': 'variants',
    'shard_variants': 'variants',
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
