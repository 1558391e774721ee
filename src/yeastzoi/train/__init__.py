"""yeastzoi.train (see DESIGN.md for what this stage holds).

Public names are imported lazily (PEP 562) so that importing a light name never pulls in
TensorFlow; ``from yeastzoi.train import X`` works for every name in ``__all__``.
"""
import importlib

_EXPORTS = {
    'CKPT_DIR': 'checkpoints',
    'LATEST': 'checkpoints',
    'FAULT_ENV': 'checkpoints',
    'FAULT_STAGES': 'checkpoints',
    'PUBLISHED': 'checkpoints',
    'BEST_FILES': 'checkpoints',
    'fault_setting': 'checkpoints',
    'fault_point': 'checkpoints',
    'format_value': 'checkpoints',
    'read_history_rows': 'checkpoints',
    'history_text': 'checkpoints',
    'Committed': 'checkpoints',
    'committed_checkpoint': 'checkpoints',
    'publish': 'checkpoints',
    'prune': 'checkpoints',
    'commit_epoch': 'checkpoints',
    'restore_outputs': 'checkpoints',
    'write_params': 'checkpoints',
    'RESUMABLE_TRAIN_KEYS': 'contract',
    'FOREIGN_FILES': 'contract',
    'Command': 'contract',
    'first_difference': 'contract',
    'spec_difference': 'contract',
    'check_resume': 'contract',
    'check_fresh_folder': 'contract',
    'parse_folds': 'folds',
    'train_folds': 'folds',
    'collect_folds': 'folds',
    'ABBREV': 'grid',
    'read_grid': 'grid',
    'grid_points': 'grid',
    'expand_grid': 'grid',
    'effective_spec': 'grid',
    'TrainData': 'inputs',
    'shard_policy': 'inputs',
    'target_ids': 'inputs',
    'strand_pair_list': 'inputs',
    'match_species': 'inputs',
    'split_files': 'inputs',
    'has_split': 'inputs',
    'read_track_statistics': 'inputs',
    'lm_data': 'inputs',
    'track_data': 'inputs',
    'verify_inputs': 'inputs',
    'RunLog': 'logs',
    'dtype_policy': 'logs',
    'tensorboard_writers': 'logs',
    'scalar': 'logs',
    'write_epoch_scalars': 'logs',
    'train': 'loop',
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
    'schedule_class': 'optimizer',
    'make_schedule': 'optimizer',
    'learning_rate_at': 'optimizer',
    'make_optimizer': 'optimizer',
    'Run': 'setup',
    'Plan': 'setup',
    'set_head_units': 'setup',
    'check_shapes': 'setup',
    'prepare_run': 'setup',
    'Steps': 'steps',
    'STRATEGIES': 'strategies',
    'make_strategy': 'strategies',
    'worker_role': 'strategies',
    'dry_run': 'sweep',
    'run_sweep': 'sweep',
    'prepare': 'sweep_run',
    'train_variants': 'sweep_run',
    'STATUSES': 'sweep_summary',
    'variant_status': 'sweep_summary',
    'model_size': 'sweep_summary',
    'read_history': 'sweep_summary',
    'history_stats': 'sweep_summary',
    'summary_rows': 'sweep_summary',
    'COLUMNS': 'sweep_summary',
    'TAIL': 'sweep_summary',
    'write_summary': 'sweep_summary',
    'plot_summary': 'sweep_summary',
    'format_table': 'sweep_summary',
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
