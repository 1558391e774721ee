"""yeastzoi.corpus (see DESIGN.md for what this stage holds).

Public names are imported lazily (PEP 562) so that importing a light name never pulls in
TensorFlow; ``from yeastzoi.corpus import X`` works for every name in ``__all__``.
"""
from .. import lazy_exports

_EXPORTS = {
    'sketch': 'distances',
    'mash_distance': 'distances',
    'pairwise_distances': 'distances',
    'neighbor_joining': 'distances',
    'rooted_tree': 'distances',
    'newick': 'distances',
    'plot_histograms': 'figures',
    'plot_repeat_components': 'figures',
    'plot_heatmap': 'figures',
    'plot_tree': 'figures',
    'plot_grid': 'figures',
    'IDENTITIES': 'homology',
    'COVERAGES': 'homology',
    'corpus_homology': 'homology',
    'DUST_WINDOW': 'repeats',
    'DUST_LEVEL': 'repeats',
    'dust_scores': 'repeats',
    'dust_mask': 'repeats',
    'repeat_fractions': 'repeats',
    'DEFINITIONS': 'report',
    'run_corpus_qc': 'report',
    'simulated_vs_configured': 'report',
    'RULES': 'stats',
    'read_species_sheet': 'stats',
    'corpus_windows': 'stats',
    'genome_qc': 'stats',
    'TALK_R64': 'talk',
    'talk_comparison': 'talk',
    'closest_gene_rule': 'talk',
    'looks_like_r64': 'talk',
    'talk_notes': 'talk',
}

__all__ = list(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
