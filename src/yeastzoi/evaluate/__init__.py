"""yeastzoi.evaluate (see DESIGN.md for what this stage holds).

Public names are imported lazily (PEP 562) so that importing a light name never pulls in
TensorFlow; ``from yeastzoi.evaluate import X`` works for every name in ``__all__``.
"""
from .. import lazy_exports

_EXPORTS = {
    'DENSE_MAX_LEVEL': 'baselines',
    'MarkovModel': 'baselines',
    'symmetric_contexts': 'baselines',
    'KmerModel': 'baselines',
    'fit_on_split': 'baselines',
    'fit_markov': 'baselines',
    'fit_kmer': 'baselines',
    'GeneBins': 'genes',
    'gene_exon_bins': 'genes',
    'load_gene_bins': 'genes',
    'GeneSums': 'genes',
    'gene_pearsonr': 'genes',
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
    'pearsonr': 'stats',
    'r2_score': 'stats',
    'TrackStats': 'stats',
    'summary_table': 'track_runs',
    'compare_table': 'track_runs',
    'genome_summary_table': 'track_runs',
    'write_figures': 'track_runs',
    'run_track_eval': 'track_runs',
    'ProgressFactory': 'tracks',
    'EVAL_SEED': 'tracks',
    'TRACK_COLUMNS': 'tracks',
    'GENOME_COLUMNS': 'tracks',
    'dataset_genomes': 'tracks',
    'genome_ids': 'tracks',
    'noop_progress': 'tracks',
    'write_tsv': 'tracks',
    'track_groups': 'tracks',
    'summarize': 'tracks',
    'check_track_model': 'tracks',
    'split_records': 'tracks',
    'TrackEval': 'tracks',
    'evaluate_tracks': 'tracks',
}

__all__ = list(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
