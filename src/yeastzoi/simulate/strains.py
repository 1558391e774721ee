"""A SIMULATED strain panel: mutated copies of a genome folder (e.g. R64) for the multi-genome path.

Each strain is an independent mutation of the parent (a star phylogeny: strains are about
``2 × divergence`` apart from each other, ``divergence`` from the parent):

* **SNVs**: every non-N base is substituted with probability ``divergence`` (so
  ``divergence`` = substitutions per bp). A substitution is a transition (A↔G, C↔T) with
  probability ``R / (1 + R)`` where ``R = ts_tv`` (default 2.5, in the 2–3 range seen in
  yeast populations), else one of the two transversions with equal probability.
* **Small indels**: in addition, indel events at ``indel_fraction × divergence`` per bp
  (default 0.1, i.e. one indel per ten SNVs), half insertions (random bases inserted
  before the position) and half deletions, lengths 1 + Geometric(p = 0.5) capped at
  ``max_indel`` bp (mean ≈ 2 bp). Indels inside a CDS are made in-frame (length rounded
  up to a multiple of 3). Indels never overlap each other.
* **Annotation** (genes.gtf, repeats.bed, gaps.bed) is lifted through the indels by the
  strain's coordinate map (:mod:`yeastzoi.genome.coordmap`, written beside the genome as
  ``reference_to_strain.chain``; its interval rule: features keep ≥ 1 bp).

A Mash (k-mer) distance counts every mutation event, so the expected Mash distance of a
strain to its parent is about ``divergence × (1 + indel_fraction)``.

Output: one genome folder per strain (``sim_strain_01`` …, files as :func:`yeastzoi.genome.build_r64`
writes them, genome.json with ``"simulated": true`` and the mutation counts), a
``mutations.tsv.gz`` per strain (parent chrom, 0-based pos, kind, ref, alt),
``species.tsv`` (name, fasta, gtf, repeats; the parent first) and ``strains.vcf.gz``, the
panel's mutations as one multi-sample VCF (:func:`panel_vcf`; ``yeastzoi_genome.py
apply-vcf`` rebuilds every strain from it).
"""
from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .. import YeastzoiError
from ..fileio import atomic_path, write_json_atomic, write_text_atomic
from ..genome import (CHAIN_NAME, CoordMap, Genome, ascii_to_codes, load_genome_dir, read_bed,
                      read_chrom_sizes, read_gtf, write_genome_dir)

log = logging.getLogger(__name__)

_BASES = np.frombuffer(b"ACGT", np.uint8)
# code -> transition partner: A<->G, C<->T
_TRANSITION = np.array([2, 3, 0, 1], np.uint8)
# code -> its two transversion partners
_TRANSVERSIONS = np.array([[1, 3], [0, 2], [1, 3], [0, 2]], np.uint8)


def _cds_mask(gtf: pd.DataFrame | None, chrom: str, size: int) -> np.ndarray:
    m = np.zeros(size, bool)
    if gtf is None:
        return m
    cds = gtf[(gtf["chrom"] == chrom) & (gtf["feature"] == "CDS")]
    for s, e in zip(cds["start"].to_numpy(), cds["end"].to_numpy()):
        m[s:e] = True
    return m


def mutate_sequence(seq: bytes | str, rng: np.random.Generator, divergence: float, ts_tv: float = 2.5,
                    indel_fraction: float = 0.1, max_indel: int = 10,
                    cds: np.ndarray | None = None) -> tuple[str, dict]:
    """Mutate one chromosome (see the module docstring).

    Returns (new sequence (upper case), info) where info holds ``snv_pos``, ``snv_ref``,
    ``snv_alt`` (uint8 ASCII), ``transitions``, ``transversions`` and the indel table
    ``indels`` (arrays ``pos``, ``length`` (> 0 insertion, < 0 deletion), ``inserted``
    list of str) in parent coordinates, sorted by position.
    """
    if not 0 <= divergence < 0.5:
        raise YeastzoiError(f"divergence must be in [0, 0.5) substitutions per bp, got {divergence}")
    raw = np.frombuffer(seq.upper().encode() if isinstance(seq, str) else bytes(seq).upper(), np.uint8)
    arr = raw.copy()
    n = len(arr)
    codes = ascii_to_codes(arr)
    acgt = codes < 4
    # --- SNVs
    hit = (rng.random(n) < divergence) & acgt
    pos = np.flatnonzero(hit)
    ref = codes[pos]
    is_ts = rng.random(len(pos)) < ts_tv / (1.0 + ts_tv)
    alt = np.where(is_ts, _TRANSITION[ref], _TRANSVERSIONS[ref, rng.integers(0, 2, len(pos))])
    snv_ref = arr[pos].copy()
    arr[pos] = _BASES[alt]
    # --- indels (parent coordinates), non-overlapping, sorted
    n_ind = rng.binomial(max(n - 2, 0), divergence * indel_fraction) if n > 2 else 0
    ipos = np.sort(rng.choice(np.arange(1, n - 1), size=min(n_ind, max(n - 2, 0)), replace=False)) if n_ind else \
        np.zeros(0, np.int64)
    lens = np.minimum(rng.geometric(0.5, len(ipos)), max_indel)
    if cds is not None and len(ipos):
        in_cds = cds[ipos]
        lens = np.where(in_cds, np.maximum(3, ((lens + 2) // 3) * 3), lens)
    is_ins = rng.random(len(ipos)) < 0.5
    keep_pos, keep_len, inserted = [], [], []
    last_end = 0
    for p, L, ins in zip(ipos.tolist(), lens.tolist(), is_ins.tolist()):
        if p < last_end or not acgt[p]:
            continue
        if ins:
            keep_pos.append(p)
            keep_len.append(L)
            inserted.append(_BASES[rng.integers(0, 4, L)].tobytes().decode())
            last_end = p + 1
        else:
            e = min(p + L, n - 1)
            if e <= p:
                continue
            keep_pos.append(p)
            keep_len.append(-(e - p))
            inserted.append("")
            last_end = e + 1
    # --- build the new sequence
    pieces, prev = [], 0
    text = arr.tobytes().decode()
    for p, L, ins in zip(keep_pos, keep_len, inserted):
        pieces.append(text[prev:p])
        if L > 0:
            pieces.append(ins)
            prev = p
        else:
            prev = p - L
    pieces.append(text[prev:])
    info = {"snv_pos": pos, "snv_ref": snv_ref, "snv_alt": _BASES[alt],
            "transitions": int(is_ts.sum()), "transversions": int((~is_ts).sum()),
            "indels": {"pos": np.array(keep_pos, np.int64), "length": np.array(keep_len, np.int64),
                       "inserted": inserted}}
    return "".join(pieces), info


def indel_edits(indels: dict) -> list[tuple[int, int, int]]:
    """The indels of :func:`mutate_sequence` as coordinate-map edits (ref_start, ref_len,
    alt_len) for :meth:`yeastzoi.genome.CoordMap.from_edits` (an insertion at p goes before
    parent base p; a deletion removes [p, p + L))."""
    return [(int(p), 0, int(L)) if L > 0 else (int(p), int(-L), 0)
            for p, L in zip(indels["pos"], indels["length"])]


def _write_mutations(path: Path, rows: list[pd.DataFrame]) -> None:
    df = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["chrom", "pos", "kind", "ref", "alt"])
    with atomic_path(path) as tmp:
        with gzip.open(tmp, "wt") as fh:
            df.to_csv(fh, sep="\t", index=False)


def _mutate_genome(g, keep, gtf, rng, divergence, ts_tv, indel_fraction, max_indel):
    """Mutate the chromosomes ``keep`` of genome ``g``: (records, indels per chromosome,
    mutation tables, totals)."""
    records, indels, mut_rows = [], {}, []
    totals = {"snvs": 0, "transitions": 0, "transversions": 0, "insertions": 0, "deletions": 0,
              "inserted_bp": 0, "deleted_bp": 0}
    for chrom in keep:
        seq = g.fetch(chrom, 0, g.chroms[chrom])
        new, mi = mutate_sequence(seq, rng, divergence, ts_tv, indel_fraction, max_indel,
                                  cds=_cds_mask(gtf, chrom, len(seq)))
        records.append((chrom, new))
        indels[chrom] = mi["indels"]
        L = mi["indels"]["length"]
        totals["snvs"] += len(mi["snv_pos"])
        totals["transitions"] += mi["transitions"]
        totals["transversions"] += mi["transversions"]
        totals["insertions"] += int((L > 0).sum())
        totals["deletions"] += int((L < 0).sum())
        totals["inserted_bp"] += int(L[L > 0].sum())
        totals["deleted_bp"] += int(-L[L < 0].sum())
        snv = pd.DataFrame({"chrom": chrom, "pos": mi["snv_pos"], "kind": "SNV",
                            "ref": [chr(b) for b in mi["snv_ref"]], "alt": [chr(b) for b in mi["snv_alt"]]})
        ind = pd.DataFrame({"chrom": chrom, "pos": mi["indels"]["pos"],
                            "kind": np.where(L > 0, "INS", "DEL"),
                            "ref": [seq[p:p - l] if l < 0 else "" for p, l in zip(mi["indels"]["pos"], L)],
                            "alt": mi["indels"]["inserted"]})
        mut_rows.append(pd.concat([snv, ind], ignore_index=True).sort_values("pos", kind="stable"))
    return records, indels, mut_rows, totals


def simulate_strain(parent_dir, out_dir, name: str, divergence: float = 0.005, seed: int = 0,
                    ts_tv: float = 2.5, indel_fraction: float = 0.1, max_indel: int = 10,
                    chroms: list[str] | None = None) -> dict:
    """Write one SIMULATED strain genome folder from ``parent_dir``; returns its genome.json dict.

    The folder is written atomically (:func:`yeastzoi.genome.write_genome_dir`), then its
    ``mutations.tsv.gz``. ``chroms``: optional subset of the parent's chromosomes to keep
    (for small tests)."""
    info = load_genome_dir(parent_dir, require=("fasta", "chrom_sizes"))
    parent_sizes = read_chrom_sizes(info["chrom_sizes"])
    if chroms is not None:
        missing = [c for c in chroms if c not in parent_sizes]
        if missing:
            raise YeastzoiError(f"{parent_dir}: chromosomes {missing} not in the genome ({', '.join(parent_sizes)})")
    keep = list(chroms) if chroms is not None else list(parent_sizes)
    gtf = read_gtf(info["gtf"]) if info["gtf"] is not None else None
    if gtf is not None:
        gtf = gtf[gtf["chrom"].isin(keep)].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    with Genome(info["fasta"]) as g:
        records, indels, mut_rows, totals = _mutate_genome(g, keep, gtf, rng, divergence, ts_tv,
                                                           indel_fraction, max_indel)
    cmap = CoordMap.from_edits({c: parent_sizes[c] for c in keep},
                               {c: indel_edits(ind) for c, ind in indels.items()})
    beds = {}
    for key in ("repeats", "gaps"):
        src = info[key]
        beds[key] = []
        if src is not None and src.stat().st_size:
            bed = read_bed(src)
            bed, _ = cmap.lift_intervals(bed[bed["chrom"].isin(keep)].reset_index(drop=True))
            beds[key] = list(bed.itertuples(index=False, name=None))
    parent_name = info["name"]
    ts, tv = totals["transitions"], totals["transversions"]
    manifest = {
        "name": name,
        "simulated": True,
        "source": f"SIMULATED strain of {parent_name} ({Path(parent_dir).resolve()}) by yeastzoi.simulate.strains",
        "parent": parent_name,
        "strain_of": parent_name,
        "chroms": keep,
        "total_bp": sum(len(s) for _, s in records),
        "genes": int((gtf["feature"] == "gene").sum()) if gtf is not None else 0,
        "divergence": divergence, "ts_tv": ts_tv, "indel_fraction": indel_fraction,
        "max_indel": max_indel, "seed": seed,
        "mutations": {**totals, "observed_ts_tv": round(ts / tv, 3) if tv else None,
                      "snvs_per_bp": totals["snvs"] / max(1, sum(parent_sizes[c] for c in keep))},
    }
    manifest["coordinate_map"] = CHAIN_NAME
    write_genome_dir(out_dir, records, manifest, gtf=cmap.lift_intervals(gtf)[0] if gtf is not None else None,
                     repeats=beds["repeats"], gaps=beds["gaps"], gtf_source="yeastzoi_sim",
                     extra={CHAIN_NAME: cmap.write_chain})
    _write_mutations(out_dir / "mutations.tsv.gz", mut_rows)
    return manifest


def simulate_panel(parent_dir, out_dir, n: int = 8, divergence: float = 0.005, seed: int = 0,
                   ts_tv: float = 2.5, indel_fraction: float = 0.1, max_indel: int = 10,
                   chroms: list[str] | None = None, progress=None) -> Path:
    """``n`` SIMULATED strains ``sim_strain_01`` … under ``out_dir`` plus ``species.tsv``
    (name, fasta, gtf, repeats; the parent first, absolute parent paths, strain paths
    relative to the sheet). Strain i uses seed ``seed * 1000 + i``. Returns the sheet path.
    ``progress``: optional callable(name) after each strain."""
    if n < 1:
        raise YeastzoiError(f"--n must be >= 1, got {n}")
    info = load_genome_dir(parent_dir, require=("fasta", "chrom_sizes"))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    parent_name = info["name"]
    rows = [(parent_name, str(Path(info["fasta"]).resolve()),
             str(Path(info["gtf"]).resolve()) if info["gtf"] else "",
             str(Path(info["repeats"]).resolve()) if info["repeats"] else "")]
    if chroms is not None:  # a subset parent: keep the sheet consistent by writing a trimmed parent copy
        sub = out_dir / "parent_subset"
        simulate_strain(parent_dir, sub, parent_name, divergence=0.0, seed=seed, indel_fraction=0.0,
                        chroms=chroms)
        man = json.loads((sub / "genome.json").read_text())
        man.update(simulated=False, source=f"chromosome subset of {parent_name} ({Path(parent_dir).resolve()})")
        for k in ("divergence", "ts_tv", "indel_fraction", "max_indel", "seed", "mutations", "strain_of"):
            man.pop(k, None)
        write_json_atomic(sub / "genome.json", man)
        (sub / "mutations.tsv.gz").unlink(missing_ok=True)
        rows = [(parent_name, "parent_subset/genome.fa",
                 "parent_subset/genes.gtf" if info["gtf"] else "", "parent_subset/repeats.bed")]
    for i in range(1, n + 1):
        name = f"sim_strain_{i:02d}"
        simulate_strain(parent_dir, out_dir / name, name, divergence, seed * 1000 + i, ts_tv,
                        indel_fraction, max_indel, chroms)
        rows.append((name, f"{name}/genome.fa", f"{name}/genes.gtf" if info["gtf"] else "", f"{name}/repeats.bed"))
        if progress:
            progress(name)
    panel_vcf(parent_dir, [out_dir / f"sim_strain_{i:02d}" for i in range(1, n + 1)], out_dir / "strains.vcf.gz")
    sheet = out_dir / "species.tsv"
    write_text_atomic(sheet, "name\tfasta\tgtf\trepeats\n" + "".join("\t".join(r) + "\n" for r in rows))
    log.info("%s: %d SIMULATED strains of %s at %.4g substitutions/bp", out_dir, n, parent_name, divergence)
    return sheet


def strain_vcf_records(parent, muts: pd.DataFrame) -> list[tuple[str, int, str, str]]:
    """One strain's ``mutations.tsv.gz`` rows as VCF records (chrom, 1-based POS, REF, ALT)
    that rebuild the strain from the parent genome ``parent`` (a :class:`Genome`):
    indels are left-anchored on the base before them (an SNV on that base goes into the
    record's ALT), SNVs inside a deleted stretch (no effect on the strain) are dropped."""
    out = []
    for chrom, m in muts.groupby("chrom", sort=False):
        seq = parent.fetch(chrom, 0, parent.chroms[chrom])
        snv = m[m["kind"] == "SNV"]
        snv_alt = dict(zip(snv["pos"].tolist(), snv["alt"].tolist()))
        ind = m[m["kind"] != "SNV"]
        skip = set()
        for p, kind, ref, alt in zip(ind["pos"].tolist(), ind["kind"].tolist(), ind["ref"].fillna("").tolist(),
                                     ind["alt"].fillna("").tolist()):
            a = p - 1
            anchor_alt = snv_alt.get(a, seq[a])
            skip.add(a)
            if kind == "INS":
                out.append((chrom, a + 1, seq[a], anchor_alt + alt))
            else:
                out.append((chrom, a + 1, seq[a] + ref, anchor_alt))
                skip.update(range(p, p + len(ref)))
        out.extend((chrom, q + 1, seq[q], b) for q, b in snv_alt.items() if q not in skip)
    return out


def panel_vcf(parent_dir, strain_dirs, out_path) -> Path:
    """A multi-sample VCF (BGZF) of SIMULATED strains' mutations (their ``mutations.tsv.gz``):
    one line per (chromosome, POS, REF), the strains' distinct ALTs as its alleles, GT
    ``k/k`` for a strain carrying allele k and ``0/0`` otherwise; samples named after the
    strain folders. ``yeastzoi_genome.py apply-vcf`` rebuilds each strain from it."""
    from pysam.libcbgzf import BGZFile

    info = load_genome_dir(parent_dir, require=("fasta", "chrom_sizes"))
    sizes = read_chrom_sizes(info["chrom_sizes"])
    names = [Path(d).name for d in strain_dirs]
    sites: dict[tuple, list] = {}
    with Genome(info["fasta"]) as parent:
        for j, d in enumerate(strain_dirs):
            muts = pd.read_csv(Path(d) / "mutations.tsv.gz", sep="\t", keep_default_na=False,
                               dtype={"ref": str, "alt": str})
            for chrom, pos, ref, alt in strain_vcf_records(parent, muts):
                alts = sites.setdefault((chrom, pos, ref), [])
                alts.append((j, alt))
    order = {c: i for i, c in enumerate(sizes)}
    head = ["##fileformat=VCFv4.2", "##source=yeastzoi.simulate.strains (SIMULATED strain panel)",
            f"##reference={Path(info['fasta']).resolve()}"]
    head += [f"##contig=<ID={c},length={n}>" for c, n in sizes.items()]
    head += ['##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(names)]
    with atomic_path(out_path) as tmp:
        with BGZFile(str(tmp), "wb") as fh:
            fh.write(("\n".join(head) + "\n").encode())
            for (chrom, pos, ref) in sorted(sites, key=lambda k: (order[k[0]], k[1], len(k[2]))):
                calls = sites[(chrom, pos, ref)]
                alleles = list(dict.fromkeys(a for _, a in calls))
                gt = ["0/0"] * len(names)
                for j, a in calls:
                    k = alleles.index(a) + 1
                    gt[j] = f"{k}/{k}"
                fh.write(f"{chrom}\t{pos}\t.\t{ref}\t{','.join(alleles)}\t.\tPASS\t.\tGT\t"
                         f"{chr(9).join(gt)}\n".encode())
    return Path(out_path)


__all__ = ["mutate_sequence", "indel_edits", "simulate_strain", "simulate_panel", "strain_vcf_records", "panel_vcf"]
