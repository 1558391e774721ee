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
    'SPECIES': 'demo',
    'LM_MODEL': 'demo',
    'TRACKS_MODEL': 'demo',
    'LM_SPEC': 'demo',
    'TRACKS_SPEC': 'demo',
    'SIM_SEED': 'demo',
    'SIM_DEPTH': 'demo',
    'SOURCES': 'demo',
    'Budget': 'demo',
    'QUICK': 'demo',
    'Shipped': 'demo',
    'shipped_path': 'demo',
    'script_path': 'demo',
    'Step': 'demo',
    'live_train_args': 'demo',
    'data_steps': 'demo',
    'real_data_steps': 'demo',
    'simulated_steps': 'demo',
    'live_steps': 'demo',
    'plan': 'demo',
    'check_shipped': 'demo',
    'run_steps': 'demo',
    'REPORT_TITLE': 'demo_report',
    'REAL_HEADING': 'demo_report',
    'SIM_HEADING': 'demo_report',
    'MODEL_LABELS': 'demo_report',
    'h5_parameters': 'demo_report',
    'history_summary': 'demo_report',
    'model_table': 'demo_report',
    'mlm_results': 'demo_report',
    'scored_windows': 'demo_report',
    'live_results': 'demo_report',
    'variant_results': 'demo_report',
    'headline': 'demo_report',
    'plot_loss_curves': 'demo_report',
    'build_report': 'demo_report',
    'CLASS_GROUPS': 'demo_truth',
    'TRUTH_COLUMNS': 'demo_truth',
    'rna_tracks': 'demo_truth',
    'condition_tracks': 'demo_truth',
    'truth_frame': 'demo_truth',
    'class_accuracy': 'demo_truth',
    'plot_score_vs_truth': 'demo_truth',
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
