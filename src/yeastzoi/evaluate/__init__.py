"""yeastzoi.evaluate (see DESIGN.md for what this stage holds).

Public names are imported lazily (PEP 562) so that importing a light name never pulls in
TensorFlow; ``from yeastzoi.evaluate import X`` works for every name in ``__all__``.
"""
import importlib

_EXPORTS = {
    'DENSE_MAX_LEVEL': 'baselines',
    'MarkovModel': 'baselines',
    'symmetric_contexts': 'baselines',
    'KmerModel': 'baselines',
    'fit_on_split': 'baselines',
    'fit_markov': 'baselines',
    'fit_kmer': 'baselines',
    'MLM_COLUMNS': 'mlm',
    'WEIGHTINGS': 'mlm',
    'SHORKIE_R64_VALID_LOSS': 'mlm',
    'REGIONS': 'mlm',
    'position_weights': 'mlm',
    'position_terms': 'mlm',
    'masked_metrics': 'mlm',
    'check_lm_model': 'mlm',
    'evaluate_mlm': 'mlm',
    'mlm_summary': 'mlm',
    'run_mlm_eval': 'mlm',
    'ProgressFactory': 'tracks',
    'EVAL_SEED': 'tracks',
    'TRACK_COLUMNS': 'tracks',
    'noop_progress': 'tracks',
    'pearsonr': 'tracks',
    'r2_score': 'tracks',
    'TrackStats': 'tracks',
    'track_groups': 'tracks',
    'summarize': 'tracks',
    'GeneBins': 'tracks',
    'gene_exon_bins': 'tracks',
    'load_gene_bins': 'tracks',
    'GeneSums': 'tracks',
    'gene_pearsonr': 'tracks',
    'load_model': 'tracks',
    'check_track_model': 'tracks',
    'resolve_species_index': 'tracks',
    'split_records': 'tracks',
    'TrackEval': 'tracks',
    'evaluate_tracks': 'tracks',
    'write_tsv': 'tracks',
    'run_track_eval': 'tracks',
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
