"""yeastzoi.coverage (see DESIGN.md for what this stage holds).

Public names are imported lazily (PEP 562) so that importing a light name never pulls in
TensorFlow; ``from yeastzoi.coverage import X`` works for every name in ``__all__``.
"""
import importlib

_EXPORTS = {
    'FLOAT16_MAX': 'tracks',
    'SKIP_REASONS': 'tracks',
    'CoverageResult': 'tracks',
    'map_chroms': 'tracks',
    'bam_to_coverage': 'tracks',
    'run_length_encode': 'tracks',
    'write_bigwig': 'tracks',
    'write_w5': 'tracks',
    'CoverageFile': 'tracks',
    'count_bam_records': 'tracks',
    'SUM_STATS': 'targets',
    'INVERTIBLE_SUM_STATS': 'targets',
    'BASKERVILLE_COLUMNS': 'targets',
    'read_targets': 'targets',
    'write_targets': 'targets',
    'strand_pairs': 'targets',
    'nan_fraction': 'targets',
    'transform_coverage': 'targets',
    'transform_tracks': 'targets',
    'untransform': 'targets',
    'bin_mask': 'targets',
    'apply_blacklist': 'targets',
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
