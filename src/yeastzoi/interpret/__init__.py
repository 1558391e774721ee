"""yeastzoi.interpret (see DESIGN.md for what this stage holds).

Public names are imported lazily (PEP 562) so that importing a light name never pulls in
TensorFlow; ``from yeastzoi.interpret import X`` works for every name in ``__all__``.
"""
from .. import lazy_exports

_EXPORTS = {
    'attention_layers': 'attention',
    'attention_maps': 'attention',
    'window_attention': 'attention',
    'BASES': 'lm_conservation',
    'PWM_COLUMNS': 'lm_conservation',
    'DEFAULT_PSEUDOCOUNT': 'lm_conservation',
    'normalise_probs': 'lm_conservation',
    'entropy_bits': 'lm_conservation',
    'conservation_from_probs': 'lm_conservation',
    'mask_rounds': 'lm_conservation',
    'Chunk': 'lm_conservation',
    'plan_chunks': 'lm_conservation',
    'lm_probs': 'lm_conservation',
    'conservation_table': 'lm_conservation',
    'conservation': 'lm_conservation',
    'conservation_many': 'lm_conservation',
    'write_conservation_bigwig': 'lm_conservation',
    'observed_like_predicted': 'locus',
    'pooled_units': 'locus',
    'locus_tracks': 'locus',
    'promoter_regions': 'motifs',
    'pick_genes': 'motifs',
    'find_motif_sites': 'motifs',
    'motif_enrichment': 'motifs',
    'motif_check': 'motifs',
    'SUMMARY_COLUMNS': 'motif_discovery',
    'hypothetical_contributions': 'motif_discovery',
    'contribution_inputs': 'motif_discovery',
    'Pattern': 'motif_discovery',
    'trim_span': 'motif_discovery',
    'run_modisco': 'motif_discovery',
    'jaspar_yeast_matrices': 'motif_discovery',
    'match_patterns': 'motif_discovery',
    'nearest_tss_distance': 'motif_discovery',
    'seqlet_positions': 'motif_discovery',
    'random_positions': 'motif_discovery',
    'tss_distance_test': 'motif_discovery',
    'promoter_probs': 'motif_discovery',
    'discover_from_probs': 'motif_discovery',
    'information_logo': 'motif_discovery',
    'plot_pattern': 'motif_discovery',
    'plot_tss_distances': 'motif_discovery',
    'safe_name': 'regions',
    'named_regions': 'regions',
    'write_tsv': 'regions',
    'centred_input': 'regions',
}

__all__ = list(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
