"""yeastzoi.train (see DESIGN.md for what this stage holds).

Public names are imported lazily (PEP 562) so that importing a light name never pulls in
TensorFlow; ``from yeastzoi.train import X`` works for every name in ``__all__``.
"""
import importlib

_EXPORTS = {
    'EPS': 'losses',
    'COVERAGE_LOSSES': 'losses',
    'poisson': 'losses',
    'mse': 'losses',
    'poisson_mn': 'losses',
    'coverage_loss': 'losses',
    'mlm_sums': 'losses',
    'mlm_loss': 'losses',
    'SUM_NAMES': 'metrics',
    'track_sums': 'metrics',
    'PearsonR2': 'metrics',
    'STRATEGIES': 'loop',
    'CKPT_DIR': 'loop',
    'make_strategy': 'loop',
    'learning_rate_at': 'loop',
    'make_optimizer': 'loop',
    'train': 'loop',
    'read_statistics_safe': 'loop',
    'parse_folds': 'loop',
    'train_folds': 'loop',
    'collect_folds': 'loop',
    'STATUSES': 'sweep',
    'ABBREV': 'sweep',
    'read_grid': 'sweep',
    'grid_points': 'sweep',
    'expand_grid': 'sweep',
    'effective_spec': 'sweep',
    'prepare': 'sweep',
    'model_size': 'sweep',
    'dry_run': 'sweep',
    'variant_status': 'sweep',
    'train_variants': 'sweep',
    'read_history': 'sweep',
    'history_stats': 'sweep',
    'summary_rows': 'sweep',
    'COLUMNS': 'sweep',
    'TAIL': 'sweep',
    'write_summary': 'sweep',
    'plot_summary': 'sweep',
    'format_table': 'sweep',
    'run_sweep': 'sweep',
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
