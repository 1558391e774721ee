"""Read variants from a VCF or a TSV and check them against the reference FASTA.

    genome = Genome("genome.fa")
    variants, report = read_variants("calls.vcf", genome, flip=False)

Input formats
-------------
* **VCF** (plain or ``.gz``): ``#`` lines are headers; columns CHROM, POS (1-based), ID,
  REF, ALT, then anything (QUAL, FILTER, INFO …). INFO ``KEY=VALUE`` pairs are kept in
  :attr:`Variant.info`.
* **TSV**: a header row naming at least ``chrom`` (or ``chr``/``chromosome``), ``pos``
  (1-based, or ``position``), ``ref`` and ``alt``; ``id`` (or ``snp``/``name``) optional;
  other columns are kept in :attr:`Variant.info`. The format is chosen by content: a
  file whose first non-empty line starts with ``##fileformat`` or ``#CHROM`` is a VCF, a
  header row naming ``chrom``/``pos``/``ref``/``alt`` is a TSV, anything else is read as
  header-less VCF columns.

Rules (each violation is a one-line :class:`YeastzoiError` naming file and line):

* a multi-allelic record (``ALT`` = ``G,T``) becomes one variant per alternative allele,
  all sharing the record's line and id (suffixed ``_2``, ``_3``… after the first);
* alleles are strings over ``ACGTN`` (case-insensitive); symbolic (``<DEL>``), breakend,
  ``*`` and ``.`` alternatives are skipped and counted in the report;
* chromosome names are matched to the FASTA by exact name, else by R64 alias
  (:meth:`yeastzoi.genome.Genome.resolve`); an unknown name is an error;
* ``REF`` must equal the FASTA bases at ``[pos-1, pos-1+len(REF))`` (``N`` in either
  matches anything). With ``flip=True`` a record whose ``ALT`` matches the FASTA instead
  is swapped (REF↔ALT, :attr:`Variant.flipped` set, counted in the report); a record
  matching neither is still an error;
* a file with no variant (after skipping) is an error.

Allele frequencies (``allele_freq=True``, for population VCFs): :attr:`Variant.af` is the
frequency of the variant's ALT allele — INFO ``AF`` (one value per ALT, in ALT order; a TSV
``AF``/``af`` column) when present, else counted from the ``GT`` genotypes of the sample
columns (AC / AN over called alleles; haploid and polyploid calls alike; ``.`` uncalled;
NaN when no allele is called). A record with neither is a one-line error. A flipped
variant gets 1 − AF.
"""
from __future__ import annotations

import dataclasses
import gzip
import logging
import re
from pathlib import Path

from .. import YeastzoiError

log = logging.getLogger(__name__)

_ALLELE = re.compile(r"^[ACGTNacgtn]+$")
_TSV_KEYS = {"chrom": ("chrom", "chr", "chromosome", "#chrom", "contig"),
             "pos": ("pos", "position", "bp"),
             "ref": ("ref", "ref_allele", "reference"),
             "alt": ("alt", "alt_allele", "alternative"),
             "id": ("id", "snp", "name", "rsid", "variant_id")}


@dataclasses.dataclass
class Variant:
    """One biallelic variant. ``pos`` is 1-based (VCF); ``chrom`` is the FASTA's name.

    ``start`` (0-based) is the first REF base; REF spans ``[start, start + len(ref))``."""

    id: str
    chrom: str
    pos: int
    ref: str
    alt: str
    line: int = 0
    flipped: bool = False
    chrom_in: str = ""
    info: dict = dataclasses.field(default_factory=dict)
    af: float | None = None         # ALT allele frequency (read_variants(..., allele_freq=True))

    @property
    def start(self) -> int:
        return self.pos - 1

    @property
    def is_snv(self) -> bool:
        return len(self.ref) == 1 and len(self.alt) == 1

    @property
    def is_indel(self) -> bool:
        return len(self.ref) != len(self.alt)


@dataclasses.dataclass
class ReadReport:
    records: int = 0
    variants: int = 0
    multiallelic: int = 0
    skipped_symbolic: int = 0
    flipped: int = 0
    indels: int = 0
    duplicates: int = 0
    n_alleles: int = 0

    def line(self) -> str:
        return (f"{self.records} records → {self.variants} variants ({self.indels} indels; "
                f"{self.multiallelic} multi-allelic records split; {self.skipped_symbolic} "
                f"symbolic/missing alleles skipped; {self.flipped} flipped to match the FASTA)")


def _open(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt")
    return open(path, "rt")


def _lines(path: Path):
    try:
        with _open(path) as fh:
            for ln, line in enumerate(fh, 1):
                yield ln, line.rstrip("\r\n")
    except UnicodeDecodeError:
        raise YeastzoiError(f"{path}: not a text VCF/TSV (cannot decode); give a VCF, VCF.gz or TSV") from None


def _sniff(path: Path) -> str:
    for _ln, line in _lines(path):
        if not line.strip():
            continue
        if line.startswith("##fileformat") or line.startswith("#CHROM"):
            return "vcf"
        first = [c.strip().lower() for c in line.split("\t")]
        if any(c in _TSV_KEYS["pos"] for c in first) and any(c in _TSV_KEYS["ref"] for c in first):
            return "tsv"
        if line.startswith("#"):
            continue
        return "vcf"
    return "vcf"


def _parse_info(text: str) -> dict:
    info = {}
    if text in ("", "."):
        return info
    for item in text.split(";"):
        if "=" in item:
            k, v = item.split("=", 1)
            info[k] = v
        elif item:
            info[item] = True
    return info


def _records(path: Path):
    """Yield (line, chrom, pos text, id, ref, alt text, info dict, FORMAT + sample columns
    (VCF with samples) or None)."""
    kind = _sniff(path)
    if kind == "vcf":
        for ln, line in _lines(path):
            if not line.strip() or line.startswith("#"):
                continue
            f = line.split("\t")
            if len(f) < 5:
                f2 = line.split()
                if len(f2) >= 5:
                    f = f2
                else:
                    raise YeastzoiError(f"{path} line {ln}: expected at least 5 tab-separated VCF columns "
                                        f"(CHROM POS ID REF ALT), got {len(f)}: {line[:60]!r}")
            info = _parse_info(f[7]) if len(f) > 7 else {}
            yield ln, f[0], f[1], f[2], f[3], f[4], info, (f[8:] if len(f) > 9 else None)
        return
    header = None
    for ln, line in _lines(path):
        if not line.strip():
            continue
        f = line.split("\t")
        if header is None:
            low = [c.strip().lower() for c in f]
            cols = {}
            for key, names in _TSV_KEYS.items():
                hit = [i for i, c in enumerate(low) if c in names]
                if hit:
                    cols[key] = hit[0]
            missing = [k for k in ("chrom", "pos", "ref", "alt") if k not in cols]
            if missing:
                raise YeastzoiError(f"{path} line {ln}: TSV header lacks column(s) {', '.join(missing)}; "
                                    "name them chrom, pos (1-based), ref, alt (id optional)")
            header = (cols, [c.strip() for c in f])
            continue
        cols, names = header
        if len(f) != len(names):
            raise YeastzoiError(f"{path} line {ln}: {len(f)} fields but the header has {len(names)}")
        used = set(cols.values())
        info = {names[i]: f[i] for i in range(len(f)) if i not in used}
        vid = f[cols["id"]] if "id" in cols else "."
        yield ln, f[cols["chrom"]], f[cols["pos"]], vid, f[cols["ref"]], f[cols["alt"]], info, None


def _matches(genome_seq: str, allele: str) -> bool:
    return len(genome_seq) == len(allele) and all(
        a == b or a == "N" or b == "N" for a, b in zip(genome_seq, allele))


_GT_SPLIT = re.compile(r"[/|\t]")


def _allele_freqs(info: dict, samples, n_alts: int, where: str) -> list[float]:
    """ALT allele frequencies of one record (module docstring: INFO/AF, else GT counts)."""
    af = info.get("AF", info.get("af"))
    if af is not None and af is not True:
        vals = str(af).split(",")
        if len(vals) != n_alts:
            raise YeastzoiError(f"{where}: INFO/AF has {len(vals)} value(s) for {n_alts} ALT allele(s)")
        try:
            return [float("nan") if x in (".", "") else float(x) for x in vals]
        except ValueError:
            raise YeastzoiError(f"{where}: INFO/AF {af!r} is not a number list") from None
    keys = samples[0].split(":") if samples else []
    if "GT" not in keys:
        raise YeastzoiError(f"{where}: no allele frequency: no INFO/AF and no GT genotype columns to count it "
                            "from; add AF (e.g. bcftools +fill-tags -- -t AF) or the genotypes")
    gi = keys.index("GT")
    gts = [s.split(":")[gi] if gi else s.split(":", 1)[0] for s in samples[1:]]
    counts: dict[str, int] = {}
    for tok in _GT_SPLIT.split("\t".join(gts)):
        counts[tok] = counts.get(tok, 0) + 1
    an = sum(c for tok, c in counts.items() if tok.isdigit())
    return [counts.get(str(k), 0) / an if an else float("nan") for k in range(1, n_alts + 1)]


def read_variants(path, genome=None, flip: bool = False, allele_freq: bool = False,
                  duplicates: str = "keep", n_alleles: str = "keep") -> tuple[list[Variant], ReadReport]:
    """Read ``path`` (VCF/TSV, see the module docstring) into a list of :class:`Variant`.

    ``genome`` (a :class:`yeastzoi.genome.Genome`) resolves chromosome aliases and checks
    REF; without it names and alleles are taken as written. ``allele_freq``: fill
    :attr:`Variant.af` (module docstring). Suspicious but legal input is counted in one
    WARNING line each and kept or dropped as asked: ``duplicates`` (a variant with the same
    chromosome, position, REF and ALT as an earlier one) and ``n_alleles`` (an N in REF or
    ALT: a base the model sees as unknown), each ``"keep"`` (default) or ``"drop"``.
    Returns (variants, report).
    """
    for name, value in (("duplicates", duplicates), ("n_alleles", n_alleles)):
        if value not in ("keep", "drop"):
            raise YeastzoiError(f"{name}={value!r}: choose keep or drop")
    path = Path(path)
    if not path.is_file():
        raise YeastzoiError(f"{path}: variants file not found; check the path")
    report = ReadReport()
    out: list[Variant] = []
    seen: set = set()
    resolved: dict[str, str] = {}
    for ln, chrom, pos_text, vid, ref, alt_text, info, samples in _records(path):
        report.records += 1
        where = f"{path} line {ln}"
        try:
            pos = int(pos_text)
        except ValueError:
            raise YeastzoiError(f"{where}: POS {pos_text!r} is not an integer (1-based position)") from None
        if pos < 1:
            raise YeastzoiError(f"{where}: POS {pos} must be >= 1 (VCF positions are 1-based)")
        ref = ref.strip().upper()
        if not _ALLELE.match(ref):
            raise YeastzoiError(f"{where}: REF {ref!r} is not a DNA allele (A, C, G, T, N)")
        fa_chrom = _fasta_chrom(genome, chrom, pos, ref, where, resolved)
        alts = [a.strip() for a in alt_text.split(",")]
        if len(alts) > 1:
            report.multiallelic += 1
        freqs = _allele_freqs(info, samples, len(alts), where) if allele_freq else None
        base_id = vid if vid not in ("", ".") else f"{chrom}:{pos}:{ref}"
        k = 0
        for ai, alt in enumerate(alts):
            if alt in (".", "*", "") or alt.startswith("<") or "[" in alt or "]" in alt:
                report.skipped_symbolic += 1
                continue
            alt = alt.upper()
            if not _ALLELE.match(alt):
                raise YeastzoiError(f"{where}: ALT {alt!r} is not a DNA allele (A, C, G, T, N)")
            if alt == ref:
                raise YeastzoiError(f"{where}: ALT equals REF ({ref}); not a variant")
            k += 1
            v_id = base_id if vid not in ("", ".") else f"{chrom}:{pos}:{ref}:{alt}"
            if vid not in ("", ".") and k > 1:
                v_id = f"{base_id}_{k}"
            var = Variant(id=v_id, chrom=fa_chrom, pos=pos, ref=ref, alt=alt, line=ln, chrom_in=chrom,
                          info=dict(info), af=freqs[ai] if freqs is not None else None)
            if genome is not None:
                _check_ref(var, genome, flip, where, report)
                if var.flipped and var.af is not None:
                    var.af = 1.0 - var.af
            if _keep_suspicious(var, seen, report, duplicates, n_alleles):
                report.indels += int(var.is_indel)
                out.append(var)
    report.variants = len(out)
    _warn_suspicious(path, report, duplicates, n_alleles)
    if not out:
        raise YeastzoiError(f"{path}: no variants to score ({report.records} records"
                            + (f", {report.skipped_symbolic} symbolic/missing alleles skipped" if report.skipped_symbolic else "")
                            + "); give a VCF with CHROM POS ID REF ALT rows")
    log.info("%s: %s", path, report.line())
    return out, report


def _fasta_chrom(genome, chrom: str, pos: int, ref: str, where: str, resolved: dict) -> str:
    """The FASTA's name of ``chrom`` (aliases resolved once, cached in ``resolved``); REF must
    end on the chromosome. Without a genome, the name as written."""
    if genome is None:
        return chrom
    if chrom not in resolved:
        try:
            resolved[chrom] = genome.resolve(chrom)
        except YeastzoiError:
            names = list(genome.chroms)
            shown = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "")
            raise YeastzoiError(f"{where}: chromosome '{chrom}' is not in the FASTA {genome.path} "
                                f"(it has {shown}); rename it (R64 aliases chrI/I/chr1/NC_001133 "
                                "are recognised)") from None
    fa_chrom = resolved[chrom]
    if pos - 1 + len(ref) > genome.chroms[fa_chrom]:
        raise YeastzoiError(f"{where}: {chrom}:{pos} REF {ref} runs past the end of {fa_chrom} "
                            f"({genome.chroms[fa_chrom]} bp); wrong genome build?")
    return fa_chrom


def _keep_suspicious(var: Variant, seen: set, report: ReadReport, duplicates: str, n_alleles: str) -> bool:
    """Count a duplicate or N-allele variant; False when it is to be dropped."""
    key = (var.chrom, var.pos, var.ref, var.alt)
    if key in seen:
        report.duplicates += 1
        if duplicates == "drop":
            return False
    seen.add(key)
    if "N" in var.ref or "N" in var.alt:
        report.n_alleles += 1
        if n_alleles == "drop":
            return False
    return True


def _warn_suspicious(path, report: ReadReport, duplicates: str, n_alleles: str) -> None:
    if report.duplicates:
        log.warning("%s: %d duplicate record(s) (same chromosome, position, REF and ALT as an earlier one) %s",
                    path, report.duplicates, "dropped" if duplicates == "drop" else
                    "kept, each scored again (--duplicates drop to drop them)")
    if report.n_alleles:
        log.warning("%s: %d variant(s) with N in REF or ALT (an unknown base to the model) %s", path,
                    report.n_alleles, "dropped" if n_alleles == "drop" else "kept (--n-alleles drop to drop them)")


def _check_ref(var: Variant, genome, flip: bool, where: str, report: ReadReport) -> None:
    fa_ref = genome.fetch(var.chrom, var.start, var.start + len(var.ref))
    if _matches(fa_ref, var.ref):
        return
    if flip:
        fa_alt = genome.fetch(var.chrom, var.start, var.start + len(var.alt))
        if _matches(fa_alt, var.alt):
            var.ref, var.alt = var.alt, var.ref
            var.flipped = True
            report.flipped += 1
            return
        raise YeastzoiError(f"{where}: neither REF {var.ref} nor ALT {var.alt} matches the FASTA at "
                            f"{var.chrom}:{var.pos} ({fa_ref}); wrong genome build or coordinates?")
    raise YeastzoiError(f"{where}: REF {var.ref} disagrees with the FASTA at {var.chrom}:{var.pos} "
                        f"({fa_ref}); check the genome build, or pass --flip to swap alleles where ALT matches")


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"i/N"`` (1-based i) → (i, N); ``None`` → (1, 1)."""
    if not text:
        return 1, 1
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise YeastzoiError(f"--shard {text}: expected i/N with 1 <= i <= N, e.g. 2/8")
    return int(m.group(1)), int(m.group(2))


def shard_variants(variants: list[Variant], shard: tuple[int, int]) -> list[Variant]:
    """Contiguous slice ``i`` of ``N`` (1-based) of ``variants``; records split from one
    multi-allelic line stay in one shard. Concatenating shards 1..N gives the input order."""
    i, n = shard
    if n == 1:
        return list(variants)
    # cut points placed on line boundaries so multi-allelic siblings stay together
    total = len(variants)
    lo, hi = (i - 1) * total // n, i * total // n

    def adjust(k):
        while 0 < k < total and variants[k].line == variants[k - 1].line and variants[k].line:
            k += 1
        return k

    return list(variants[adjust(lo):adjust(hi)])
