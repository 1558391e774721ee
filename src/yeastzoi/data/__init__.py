"""yeastzoi.data (see DESIGN.md for what this stage holds).

Public names are imported lazily (PEP 562) so that importing a light name never pulls in
TensorFlow; ``from yeastzoi.data import X`` works for every name in ``__all__``.
"""
from .. import lazy_exports

_EXPORTS = {
    'WINDOW_COLUMNS': 'windows',
    'Contig': 'windows',
    'read_bed_intervals': 'windows',
    'merge_intervals': 'windows',
    'split_contigs': 'windows',
    'split_arms_into_folds': 'windows',
    'fold_roles': 'windows',
    'split_by_chromosomes': 'windows',
    'contig_windows': 'windows',
    'make_windows': 'windows',
    'interval_coverage': 'windows',
    'overlaps_any': 'windows',
    'n_fraction': 'windows',
    'filter_windows': 'windows',
    'HELD_OUT': 'homology',
    'HeldOutIndex': 'homology',
    'held_out_sequences': 'homology',
    'homology_filter': 'homology',
    'fold_homology_filter': 'homology',
    'TFR_DIR': 'tfrecords',
    'tfr_options': 'tfrecords',
    'serialize_example': 'tfrecords',
    'ShardWriter': 'tfrecords',
    'remove_stale_records': 'tfrecords',
    'write_sequences_bed': 'tfrecords',
    'read_sequences_bed': 'tfrecords',
    'SEQUENCES_BED_LAYOUTS': 'tfrecords',
    'write_statistics': 'tfrecords',
    'parse_example': 'tfrecords',
    'ProgressFactory': 'builders',
    'LM_TEST': 'builders',
    'LM_VALID': 'builders',
    'build_track_dataset': 'builders',
    'read_species_table': 'builders',
    'build_lm_corpus': 'builders',
    'GENOME_SHEET_COLUMNS': 'genomes',
    'SheetGenome': 'genomes',
    'read_genome_sheet': 'genomes',
    'read_genome_targets': 'genomes',
    'genome_windows': 'genomes',
    'build_genomes_track_dataset': 'genomes',
    'read_statistics': 'pipeline',
    'record_files': 'pipeline',
    'fold_splits': 'pipeline',
    'track_dataset': 'pipeline',
    'mlm_mask': 'pipeline',
    'lm_dataset': 'pipeline',
}

__all__ = list(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
