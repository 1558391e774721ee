"""yeastzoi.plots (see DESIGN.md for what this stage holds).

Public names are imported lazily (PEP 562) so that importing a light name never pulls in
TensorFlow; ``from yeastzoi.plots import X`` works for every name in ``__all__``.
"""
import importlib

_EXPORTS = {
    'BIN': 'demo',
    'VALID': 'demo',
    'TEST': 'demo',
    'RP_GENE': 'demo',
    'Budget': 'demo',
    'QUICK': 'demo',
    'Step': 'demo',
    'plan': 'demo',
    'run_steps': 'demo',
    'plot_loss_curves': 'demo',
    'plot_score_vs_truth': 'demo',
    'build_report': 'demo',
    'BASE_COLORS': 'genome_tracks',
    'STRAND_COLORS': 'genome_tracks',
    'genes_in_window': 'genome_tracks',
    'genes_to_bins': 'genome_tracks',
    'draw_genes': 'genome_tracks',
    'draw_logo': 'genome_tracks',
    'plot_logo': 'genome_tracks',
    'plot_attention': 'genome_tracks',
    'plot_tracks': 'genome_tracks',
    'plot_motif_enrichment': 'genome_tracks',
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
