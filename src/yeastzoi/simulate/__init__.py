"""yeastzoi.simulate (see DESIGN.md for what this stage holds).

Public names are imported lazily (PEP 562) so that importing a light name never pulls in
TensorFlow; ``from yeastzoi.simulate import X`` works for every name in ``__all__``.
"""
from .. import lazy_exports

_EXPORTS = {
    'SIMULATED': 'config',
    'SimConfig': 'config',
    'keyed_rng': 'config',
    'MotifSet': 'model',
    'build_motifset': 'model',
    'affinity': 'model',
    'condition_weights': 'model',
    'promoter_codes': 'model',
    'promoter_accessibility': 'model',
    'promoter_sites': 'model',
    'saturate': 'model',
    'promoter_content': 'model',
    'expression': 'model',
    'snv_content_delta': 'model',
    'apply_variant_promoter': 'model',
    'accessibility_track': 'model',
    'genome_sites': 'model',
    'Reads': 'reads',
    'clip_reads': 'reads',
    'uniform_reads': 'reads',
    'chipexo_reads': 'reads',
    'fragment_end_reads': 'reads',
    'transcript_reads': 'reads',
    'write_bam': 'reads',
    'simulate_genome': 'run',
    'read_panel': 'panel',
    'promoter_spans': 'panel',
    'strain_truth': 'panel',
    'simulate_panel_tracks': 'panel',
    'mutate_sequence': 'strains',
    'indel_edits': 'strains',
    'strain_vcf_records': 'strains',
    'panel_vcf': 'strains',
    'simulate_strain': 'strains',
    'simulate_panel': 'strains',
    'LibraryWriter': 'tracks',
    'chipexo_libraries': 'tracks',
    'Nucleosomes': 'tracks',
    'nucleosome_arrays': 'tracks',
    'mnase_library': 'tracks',
    'h3k4me3_library': 'tracks',
    'rnaseq_libraries': 'tracks',
    'simulate_libraries': 'tracks',
    'ASSAY_TARGETS': 'tracks',
    'write_targets_sheet': 'tracks',
    'Truth': 'truth',
    'bound_sites': 'truth',
    'simulate_truth': 'truth',
    'genes_truth_table': 'truth',
    'mpra_table': 'truth',
    'write_truth': 'truth',
    'CLASSES': 'variants',
    'choose_variants': 'variants',
    'vcf_text': 'variants',
    'mpra_rows': 'variants',
}

__all__ = list(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
