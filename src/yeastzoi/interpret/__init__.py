"""yeastzoi.interpret (see DESIGN.md for what this stage holds).

Public names are imported lazily (PEP 562) so that importing a light name never pulls in
TensorFlow; ``from yeastzoi.interpret import X`` works for every name in ``__all__``.
"""
import importlib

_EXPORTS = {
    'BASES': 'conservation',
    'PWM_COLUMNS': 'conservation',
    'DEFAULT_PSEUDOCOUNT': 'conservation',
    'normalise_probs': 'conservation',
    'entropy_bits': 'conservation',
    'conservation_from_probs': 'conservation',
    'mask_rounds': 'conservation',
    'Chunk': 'conservation',
    'plan_chunks': 'conservation',
    'check_lm': 'conservation',
    'species_index_of': 'conservation',
    'lm_probs': 'conservation',
    'conservation_table': 'conservation',
    'conservation': 'conservation',
    'conservation_many': 'conservation',
    'write_conservation_bigwig': 'conservation',
    'find_gene': 'conservation',
    'promoter_regions': 'conservation',
    'find_motif_sites': 'conservation',
    'motif_enrichment': 'conservation',
    'attention_layers': 'conservation',
    'attention_maps': 'conservation',
    'safe_name': 'conservation',
    'named_regions': 'conservation',
    'pick_genes': 'conservation',
    'motif_check': 'conservation',
    'write_tsv': 'conservation',
    'centred_input': 'conservation',
    'window_attention': 'conservation',
    'observed_like_predicted': 'conservation',
    'pooled_units': 'conservation',
    'locus_tracks': 'conservation',
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
