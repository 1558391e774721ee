"""yeastzoi.corpus (see DESIGN.md for what this stage holds).

Public names are imported lazily (PEP 562) so that importing a light name never pulls in
TensorFlow; ``from yeastzoi.corpus import X`` works for every name in ``__all__``.
"""
import importlib

_EXPORTS = {
    'TALK_R64': 'qc',
    'DUST_WINDOW': 'qc',
    'DUST_LEVEL': 'qc',
    'IDENTITIES': 'qc',
    'COVERAGES': 'qc',
    'read_species_sheet': 'qc',
    'dust_scores': 'qc',
    'dust_mask': 'qc',
    'corpus_windows': 'qc',
    'genome_qc': 'qc',
    'sketch': 'qc',
    'mash_distance': 'qc',
    'pairwise_distances': 'qc',
    'neighbor_joining': 'qc',
    'rooted_tree': 'qc',
    'newick': 'qc',
    'corpus_homology': 'qc',
    'plot_histograms': 'qc',
    'plot_repeat_components': 'qc',
    'plot_heatmap': 'qc',
    'plot_tree': 'qc',
    'plot_grid': 'qc',
    'RULES': 'qc',
    'talk_comparison': 'qc',
    'closest_gene_rule': 'qc',
    'looks_like_r64': 'qc',
    'run_corpus_qc': 'qc',
    'DEFINITIONS': 'qc',
    'simulated_vs_configured': 'qc',
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
