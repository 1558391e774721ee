"""A strain's genome from a VCF: the reference with one sample's non-reference alleles applied.

    counts = apply_vcf("r64/", "panel.vcf.gz", "strains/", samples=["YJM789"])

One genome folder per sample (``OUT/<sample>/``: genome.fa, genes.gtf, repeats.bed,
gaps.bed, chrom.sizes, genome.json and the coordinate map ``reference_to_strain.chain``,
:mod:`yeastzoi.genome.coordmap`); the annotation, repeats and gaps are lifted through the
sample's indels. Chromosome names stay the reference's.

Rules (documented behaviour; each count lands in genome.json ``applied``):

* **genotypes** (FORMAT ``GT``, ``/`` or ``|``, any ploidy): homozygous non-reference
  calls apply that allele; the genotype's allele index picks the ALT of a multi-allelic
  record. **Heterozygous** calls (two different alleles) follow ``het``: ``"ref"`` (default:
  keep the reference; yeast isolates are mostly homozygous and a het call in one is often a
  paralog artefact), ``"alt"`` (apply the non-reference allele; with two different ALTs the
  first), ``"error"`` (a one-line error naming the record). **Missing** calls (any ``.`` in
  the GT) keep the reference and are counted.
* **a VCF without samples or without GT** (sites only, or a single sample lacking GT):
  every record's ALT is applied (``--sample`` must then be omitted or be that one sample);
  a multi-allelic record is an error there (nothing says which allele).
* **symbolic alleles** (``<DEL>``, breakends, ``*``): skipped and counted.
* **REF** must match the reference (``N`` matches anything): a mismatch is a one-line error
  naming the record (wrong assembly or coordinates), or with ``skip_mismatch`` skipped and
  counted. ``##contig`` header lengths that disagree with the reference are an error.
* **overlapping records** within one sample (a record starting inside the REF span of an
  earlier applied one): the later one is skipped and counted (as ``bcftools consensus``
  does); records are applied in position order.
* **chromosome names** are matched with the reference's alias rules
  (:meth:`yeastzoi.genome.Genome.resolve`); an unknown name is an error.
* Alleles are upper-cased; indels keep VCF left anchoring (the anchor base aligns in the
  coordinate map).
"""
from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path

import numpy as np

from .. import YeastzoiError
from .coordmap import CHAIN_NAME, CoordMap
from .fasta import open_text
from .folder import load_genome_dir, write_genome_dir
from .reference import Genome
from .regions import read_bed, read_chrom_sizes

log = logging.getLogger(__name__)

_ALLELE = re.compile(r"^[ACGTNacgtn]+$")
_CONTIG_ID = re.compile(r"^##contig=<.*?\bID=([^,>]+)")
_CONTIG_LEN = re.compile(r"^##contig=<.*?\blength=(\d+)")
HET_CHOICES = ("ref", "alt", "error")


@dataclasses.dataclass
class VcfSites:
    """Records of a VCF (checked against the reference), one entry per record.

    chrom (reference names), start (0-based bp), ref, alts (list of allele strings or None
    for a symbolic one), line numbers; ``gts``: sample → list of genotype tuples per record
    (allele indices, -1 for a missing allele) or None without genotypes."""
    path: Path
    samples: list
    chrom: list
    start: list
    ref: list
    alts: list
    line: list
    gts: dict | None
    ref_mismatch: int = 0


def _split_gt(field: str) -> tuple:
    gt = field.split(":", 1)[0]
    return tuple(-1 if a == "." else int(a) for a in re.split(r"[/|]", gt))


def read_vcf_sites(path, genome: Genome, samples: list | None = None,
                   skip_mismatch: bool = False) -> VcfSites:
    """Parse a VCF (plain or gzip) for :func:`apply_vcf` (rules: module docstring).

    ``samples``: the sample columns to keep (None = all)."""
    path = Path(path)
    if not path.is_file():
        raise YeastzoiError(f"{path}: VCF not found; check the path")
    with open_text(path) as fh:
        return _parse_vcf(path, fh, genome, samples, skip_mismatch)


def _parse_vcf(path: Path, fh, genome: Genome, samples, skip_mismatch: bool) -> VcfSites:
    out = VcfSites(path, [], [], [], [], [], [], None)
    resolved: dict[str, str] = {}
    cols = None
    gt_idx = None
    for ln, line in enumerate(fh, 1):
        line = line.rstrip("\r\n")
        if line.startswith("##"):
            _check_contig(path, ln, line, genome)
            continue
        if line.startswith("#"):
            out.samples, cols = _header_samples(path, line, samples)
            continue
        if not line.strip():
            continue
        f = line.split("\t")
        if len(f) < 5:
            raise YeastzoiError(f"{path} line {ln}: expected at least 5 tab-separated VCF columns "
                                f"(CHROM POS ID REF ALT), got {len(f)}")
        chrom_in = f[0]
        if chrom_in not in resolved:
            try:
                resolved[chrom_in] = genome.resolve(chrom_in)
            except YeastzoiError:
                raise YeastzoiError(f"{path} line {ln}: chromosome '{chrom_in}' is not in the reference "
                                    f"{genome.path}; wrong assembly, or rename it (R64 aliases chrI/I/"
                                    "NC_001133/BK006935 are recognised)") from None
        chrom = resolved[chrom_in]
        start, ref = _checked_ref(path, ln, f, chrom, genome, skip_mismatch)
        if ref is None:
            out.ref_mismatch += 1
            continue
        alts = []
        for a in f[4].split(","):
            a = a.strip()
            alts.append(a.upper() if _ALLELE.match(a) else None)
        if cols is None:
            cols, out.samples = [], []
        if gt_idx is None:
            fmt = f[8].split(":") if len(f) > 8 else []
            gt_idx = 0 if (fmt and fmt[0] == "GT" and cols) else -1
            if gt_idx == 0:
                out.gts = {s: [] for s in out.samples}
            elif samples and len(out.samples) > 1:
                raise YeastzoiError(f"{path} line {ln}: the VCF has several samples but no GT field; "
                                    "genotypes are needed to choose each sample's alleles")
        out.chrom.append(chrom)
        out.start.append(start)
        out.ref.append(ref)
        out.alts.append(alts)
        out.line.append(ln)
        if out.gts is not None:
            for s, c in zip(out.samples, cols):
                try:
                    out.gts[s].append(_split_gt(f[c]))
                except (ValueError, IndexError):
                    raise YeastzoiError(f"{path} line {ln}: sample {s}: genotype {f[c] if c < len(f) else ''!r} "
                                        "is not a GT like 0/1, 1|1, 1 or ./.") from None
    if cols is None:
        raise YeastzoiError(f"{path}: no #CHROM header line; not a VCF")
    return out


def _check_contig(path, ln: int, line: str, genome: Genome) -> None:
    """A ``##contig`` length that disagrees with the reference is another assembly."""
    m, m_len = _CONTIG_ID.match(line), _CONTIG_LEN.match(line)
    if not (m and m_len):
        return
    name, n = m.group(1), int(m_len.group(1))
    try:
        c = genome.resolve(name)
    except YeastzoiError:
        return  # contigs the reference lacks only matter if a record uses them
    if genome.chroms[c] != n:
        raise YeastzoiError(f"{path} line {ln}: contig {name} is {n:,} bp but {c} of the reference "
                            f"{genome.path} is {genome.chroms[c]:,} bp; the VCF was made on another "
                            "assembly (give the matching reference)")


def _header_samples(path, line: str, samples) -> tuple[list, list]:
    """(samples kept, their column indices) from the #CHROM line."""
    head = line.lstrip("#").split("\t")
    all_samples = head[9:] if len(head) > 9 else []
    if samples is None:
        keep = all_samples
    else:
        unknown = [s for s in samples if s not in all_samples]
        if unknown and all_samples:
            raise YeastzoiError(f"{path}: sample(s) {', '.join(unknown)} not in the VCF (it has "
                                f"{', '.join(all_samples[:10])}{' ...' if len(all_samples) > 10 else ''});"
                                " check --sample")
        keep = [s for s in samples if s in all_samples]
    return keep, [9 + all_samples.index(s) for s in keep]


def _checked_ref(path, ln: int, f: list, chrom: str, genome: Genome, skip_mismatch: bool):
    """(0-based start, upper-case REF) of a record, REF None when it disagrees with the
    reference and ``skip_mismatch`` (else a one-line error)."""
    try:
        start = int(f[1]) - 1
    except ValueError:
        raise YeastzoiError(f"{path} line {ln}: POS {f[1]!r} is not an integer") from None
    ref = f[3].upper()
    if not _ALLELE.match(ref) or start < 0:
        raise YeastzoiError(f"{path} line {ln}: bad REF {f[3]!r} or POS {f[1]} (1-based, REF over ACGTN)")
    if start + len(ref) > genome.chroms[chrom]:
        raise YeastzoiError(f"{path} line {ln}: {f[0]}:{f[1]} REF runs past the end of {chrom} "
                            f"({genome.chroms[chrom]:,} bp); the VCF was made on another assembly")
    fa = genome.fetch(chrom, start, start + len(ref)).upper()
    if any(a != b and a != "N" and b != "N" for a, b in zip(fa, ref)):
        if not skip_mismatch:
            raise YeastzoiError(f"{path} line {ln}: REF {ref} disagrees with the reference at {f[0]}:{f[1]} "
                                f"({fa}); wrong assembly or coordinates, or pass --skip-mismatch to skip such "
                                "records (counted)")
        return start, None
    return start, ref


@dataclasses.dataclass
class SampleEdits:
    """One sample's applied alleles: chromosome → sorted [(start, ref, alt)], and counts."""
    edits: dict
    counts: dict


def sample_edits(sites: VcfSites, sample: str | None, het: str = "ref") -> SampleEdits:
    """The alleles of ``sample`` (None: a VCF without genotypes, every ALT) to apply."""
    if het not in HET_CHOICES:
        raise YeastzoiError(f"--het {het}: choose one of {', '.join(HET_CHOICES)}")
    counts = dict(records=len(sites.start), applied=0, snvs=0, mnps=0, insertions=0, deletions=0,
                  complex=0, reference_calls=0, missing=0, heterozygous=0, symbolic=0, overlapping=0,
                  ref_mismatch=sites.ref_mismatch)
    gts = sites.gts[sample] if (sites.gts is not None and sample is not None) else None
    chosen: dict[str, list] = {}
    for i in range(len(sites.start)):
        alts = sites.alts[i]
        if gts is None:
            if len(alts) > 1:
                raise YeastzoiError(f"{sites.path} line {sites.line[i]}: multi-allelic record without "
                                    "genotypes; nothing says which ALT to apply (add a GT column)")
            k = 1
        else:
            gt = gts[i]
            if any(a < 0 for a in gt):
                counts["missing"] += 1
                continue
            called = set(gt)
            if called == {0}:
                counts["reference_calls"] += 1
                continue
            if len(called) > 1:
                counts["heterozygous"] += 1
                if het == "error":
                    raise YeastzoiError(f"{sites.path} line {sites.line[i]}: sample {sample} is heterozygous "
                                        f"({'/'.join(map(str, gt))}); choose --het ref or --het alt")
                if het == "ref":
                    continue
            k = min(a for a in called if a > 0)
            if k > len(alts):
                raise YeastzoiError(f"{sites.path} line {sites.line[i]}: sample {sample} genotype allele {k} "
                                    f"but the record has {len(alts)} ALT(s)")
        alt = alts[k - 1]
        if alt is None:
            counts["symbolic"] += 1
            continue
        chosen.setdefault(sites.chrom[i], []).append((sites.start[i], sites.ref[i], alt, sites.line[i]))
    edits = {}
    for chrom, rows in chosen.items():
        rows.sort(key=lambda r: r[0])
        kept, end = [], -1
        for s, ref, alt, ln in rows:
            if s < end:
                counts["overlapping"] += 1
                log.debug("%s line %d: overlaps an earlier record; skipped", sites.path, ln)
                continue
            kept.append((s, ref, alt))
            end = s + len(ref)
            counts["applied"] += 1
            if len(ref) == len(alt):
                counts["snvs" if len(ref) == 1 else "mnps"] += 1
            elif len(ref) == 1 or len(alt) == 1:
                counts["insertions" if len(alt) > len(ref) else "deletions"] += 1
            else:
                counts["complex"] += 1
        edits[chrom] = kept
    return SampleEdits(edits, counts)


def apply_edits(seq: str, edits: list) -> str:
    """``seq`` with [(start, ref, alt)] (sorted, non-overlapping) applied."""
    pieces, prev = [], 0
    for s, ref, alt in edits:
        pieces.append(seq[prev:s])
        pieces.append(alt)
        prev = s + len(ref)
    pieces.append(seq[prev:])
    return "".join(pieces)


def reference_info(ref) -> dict:
    """:func:`load_genome_dir` of a reference folder, or the same keys for a bare FASTA
    (no annotation, repeats or gaps; its chromosome sizes from the index)."""
    ref = Path(ref)
    if ref.is_dir():
        info = load_genome_dir(ref, require=("fasta", "chrom_sizes"))
        info["sizes"] = read_chrom_sizes(info["chrom_sizes"])
        return info
    with Genome(ref) as g:
        sizes = dict(g.chroms)
    return {"dir": None, "fasta": ref, "gtf": None, "repeats": None, "gaps": None, "coords": None,
            "name": ref.name.split(".")[0], "sizes": sizes}


def build_strain(ref, out_dir, name: str, edits: SampleEdits, manifest_extra: dict | None = None,
                 genome: Genome | None = None) -> dict:
    """Write the strain genome folder ``out_dir`` from the reference (a genome folder, or a
    FASTA: then without annotation) and ``edits``; returns its genome.json dict."""
    from .annotation import read_gtf

    info = reference_info(ref)
    sizes = info["sizes"]
    own = genome is None
    genome = genome or Genome(info["fasta"])
    try:
        records = []
        for chrom in sizes:
            seq = genome.fetch(chrom, 0, sizes[chrom]).upper()
            records.append((chrom, apply_edits(seq, edits.edits.get(chrom, []))))
    finally:
        if own:
            genome.close()
    cmap = CoordMap.from_edits(sizes, {c: [(s, len(r), len(a)) for s, r, a in rows]
                                       for c, rows in edits.edits.items()})
    gtf, lost = None, {}
    if info["gtf"] is not None:
        gtf, lost["genes_features"] = cmap.lift_intervals(read_gtf(info["gtf"]))
    beds = {}
    for key in ("repeats", "gaps"):
        beds[key] = []
        if info[key] is not None and info[key].stat().st_size:
            bed, lost[key] = cmap.lift_intervals(read_bed(info[key]))
            beds[key] = list(bed.itertuples(index=False, name=None))
    manifest = {"name": name, "strain_of": info["name"], "reference": str(Path(ref).resolve()),
                "coordinate_map": CHAIN_NAME, "chroms": list(sizes),
                "total_bp": sum(len(s) for _, s in records), **(manifest_extra or {}),
                "applied": edits.counts, "features_deleted_entirely": lost}
    write_genome_dir(out_dir, records, manifest, gtf=gtf, repeats=beds["repeats"], gaps=beds["gaps"],
                     extra={CHAIN_NAME: cmap.write_chain})
    return manifest


def apply_vcf(ref, vcf, out_dir, samples: list | None = None, all_samples: bool = False,
              het: str = "ref", skip_mismatch: bool = False, progress=None) -> dict:
    """Build ``OUT/<sample>/`` for each sample from the reference ``ref`` (a genome folder,
    or a FASTA: sequence and coordinate map only) (module docstring: the rules). ``samples``:
    names; ``all_samples``: every sample of the VCF; a VCF without genotypes builds one
    folder named after the VCF (or ``samples[0]``). Returns {sample: genome.json dict}.
    ``progress``: optional callable(sample) after each folder."""
    if het not in HET_CHOICES:
        raise YeastzoiError(f"--het {het}: choose one of {', '.join(HET_CHOICES)}")
    info = reference_info(ref)
    out_dir = Path(out_dir)
    with Genome(info["fasta"]) as genome:
        sites = read_vcf_sites(vcf, genome, samples or None, skip_mismatch)
        if sites.gts is not None and not samples and not all_samples and len(sites.samples) > 1:
            raise YeastzoiError(f"{vcf}: {len(sites.samples)} samples ({', '.join(sites.samples[:5])}"
                                f"{' ...' if len(sites.samples) > 5 else ''}); name the strain(s) with --sample "
                                "NAME or build them all with --all-samples")
        if sites.gts is None:
            if len(sites.samples) > 1:
                raise YeastzoiError(f"{vcf}: several samples but no GT field")
            names = [samples[0] if samples else (sites.samples[0] if sites.samples else
                                                 Path(vcf).name.split(".")[0])]
            todo = [(names[0], None)]
        else:
            todo = [(s, s) for s in sites.samples]
        if sites.ref_mismatch:
            log.warning("%s: %d record(s) whose REF disagrees with the reference skipped (--skip-mismatch)",
                        vcf, sites.ref_mismatch)
        result = {}
        for name, col in todo:
            ed = sample_edits(sites, col, het)
            c = ed.counts
            for key, what in (("heterozygous", f"heterozygous calls ({'kept reference' if het == 'ref' else 'ALT applied'}"
                                               ", --het)"),
                              ("missing", "missing genotypes (reference kept)"),
                              ("symbolic", "symbolic alleles skipped"),
                              ("overlapping", "records overlapping an earlier applied record skipped")):
                if c[key]:
                    log.warning("%s: %s: %d %s", vcf, name, c[key], what)
            extra = {"vcf": str(Path(vcf).resolve()), "sample": col, "het": het}
            result[name] = build_strain(ref, out_dir / name, name, ed, extra, genome=genome)
            if progress:
                progress(name)
    return result


def strain_map(strain_dir) -> CoordMap:
    """The coordinate map of a strain folder (a one-line error for a folder without one)."""
    info = load_genome_dir(strain_dir, require=())
    if info["coords"] is None:
        raise YeastzoiError(f"{strain_dir}: not a strain folder (no {CHAIN_NAME}); build it with "
                            "`yeastzoi_genome.py apply-vcf REF_DIR VCF -o OUT --sample NAME`")
    return CoordMap.read_chain(info["coords"])


__all__ = ["HET_CHOICES", "VcfSites", "read_vcf_sites", "SampleEdits", "sample_edits", "apply_edits",
           "reference_info", "build_strain", "apply_vcf", "strain_map"]
