"""yeastzoi.coverage (see DESIGN.md for what this stage holds).

Public names are imported lazily (PEP 562) so that importing a light name never pulls in
TensorFlow; ``from yeastzoi.coverage import X`` works for every name in ``__all__``.
"""
from .. import lazy_exports

_EXPORTS = {
    'SKIP_REASONS': 'bam',
    'CoverageResult': 'bam',
    'bam_to_coverage': 'bam',
    'open_bam': 'bam',
    'count_bam_records': 'bam',
    'MODES': 'library',
    'LIBRARY_TYPES': 'library',
    'PAIR_PEEK': 'library',
    'check_coverage_options': 'library',
    'LibraryCheck': 'library',
    'infer_library': 'library',
    'classify_sense_fraction': 'library',
    'bin_mask': 'blacklist',
    'apply_blacklist': 'blacklist',
    'preview_names': 'chroms',
    'map_chroms': 'chroms',
    'BASKERVILLE_COLUMNS': 'sheet',
    'read_targets': 'sheet',
    'write_targets': 'sheet',
    'strand_pairs': 'sheet',
    'run_length_encode': 'trackfiles',
    'write_bigwig': 'trackfiles',
    'write_w5': 'trackfiles',
    'CoverageFile': 'trackfiles',
    'FLOAT16_MAX': 'transform',
    'SUM_STATS': 'transform',
    'INVERTIBLE_SUM_STATS': 'transform',
    'clip_float16': 'transform',
    'clip_negative': 'transform',
    'nan_fraction': 'transform',
    'transform_coverage': 'transform',
    'transform_tracks': 'transform',
    'untransform': 'transform',
}

__all__ = list(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
