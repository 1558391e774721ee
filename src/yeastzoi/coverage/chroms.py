"""Chromosome names of coverage files (BAM, bigWig, w5, bedGraph) matched to the reference's.

Matching goes through :func:`yeastzoi.genome.match_chroms` (aliases: a BAM that says ``I``
and a FASTA that says ``chrI`` work together); partial matches are allowed, none at all
is a one-line error.
"""
from __future__ import annotations

from yeastzoi import YeastzoiError
from yeastzoi.genome.aliases import match_chroms


def preview_names(names, n: int = 6) -> str:
    """The first ``n`` names, comma-separated, with the total when there are more."""
    names = list(names)
    s = ", ".join(names[:n])
    return s + (f", … ({len(names)} in all)" if len(names) > n else "")


def map_chroms(names, reference_names, what: str, path) -> dict:
    """Map file chromosome names to reference names (alias-aware, partial matches allowed).

    Returns dict file name → reference name, or None for names that match nothing.
    Raises YeastzoiError when no name matches at all.
    """
    names = list(names)
    reference_names = list(reference_names)
    res = match_chroms(names, reference_names, what=what, reference="FASTA", path=str(path), strict=False)
    mapping = {n: res.get(n) for n in names}
    if names and not any(v is not None for v in mapping.values()):
        raise YeastzoiError(
            f"{path}: none of the {what} chromosome names ({preview_names(names)}) match the "
            f"reference names ({preview_names(reference_names)}); use a reference for the same "
            f"assembly or rename the chromosomes")
    return mapping
