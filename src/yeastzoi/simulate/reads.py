"""SIMULATED sequencing reads for :mod:`yeastzoi.simulate.run`: read placement per assay and
BAM writing.

Reads are single-end, error-free copies of the reference (SEQ = reference bases, QUAL
``*``, MAPQ 60). A read set is a :class:`Reads` of numpy arrays; coordinates are 0-based,
leftmost aligned base (``start``), on chromosome index ``chrom`` of the genome's
chromosome list. Spliced RNA-seq reads carry a CIGAR with ``N`` over introns.

Placement rules (every number comes from :class:`~yeastzoi.simulate.config.SimConfig`):

* ChIP-exo: a fragment picks a bound site uniformly; a + strand read has its 5′ end
  at ``site start − |J|``, a − strand read its 5′ end at ``site end − 1 + |J|``,
  J ~ Normal(0, ``chipexo_jitter_sd``) rounded (exonuclease stops at the crosslinked
  protein border); a fraction ``chipexo_background_frac`` of reads is uniform.
* MNase / H3K4me3: a fragment is a nucleosome footprint ``[d − h, d + h]`` around a dyad
  d (h = ``nuc_half_footprint``); the read is one end of it (+ strand read starting at
  d − h or − strand read ending at d + h, equally likely), so 5′ ends shifted by h
  toward the 3′ direction land on the dyad.
* RNA-seq: a read from gene g starts uniformly on its spliced transcript; its strand
  is the gene's strand (a forward-stranded library).
"""
from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import numpy as np

from ..fileio import atomic_path

log = logging.getLogger(__name__)

_BASES = np.frombuffer(b"ACGTN", dtype=np.uint8)


@dataclasses.dataclass
class Reads:
    """Single-end reads: chrom (R,) int, start (R,) int (leftmost, 0-based), length (R,)
    int (aligned reference span for unspliced reads), rev (R,) bool, and optional
    ``spliced``: dict read index → list of (start, end) aligned blocks (0-based, half-open)."""
    chrom: np.ndarray
    start: np.ndarray
    length: np.ndarray
    rev: np.ndarray
    spliced: dict = dataclasses.field(default_factory=dict)

    def __len__(self):
        return len(self.chrom)

    @staticmethod
    def concat(parts):
        parts = [p for p in parts if len(p)]
        if not parts:
            z = np.zeros(0, dtype=np.int64)
            return Reads(z, z, z, z.astype(bool))
        spliced, off = {}, 0
        for p in parts:
            spliced.update({k + off: v for k, v in p.spliced.items()})
            off += len(p)
        return Reads(*(np.concatenate([getattr(p, a) for p in parts]) for a in ("chrom", "start", "length", "rev")),
                     spliced=spliced)


def clip_reads(r: Reads, chrom_lens: np.ndarray, min_len: int = 20) -> Reads:
    """Trim unspliced reads to their chromosome and drop those shorter than ``min_len``."""
    n = chrom_lens[r.chrom]
    s = np.clip(r.start, 0, None)
    e = np.minimum(r.start + r.length, n)
    keep = (e - s) >= min_len
    keep_sp = {i for i in r.spliced}
    keep |= np.isin(np.arange(len(r)), list(keep_sp)) if keep_sp else False
    idx = np.nonzero(keep)[0]
    remap = {int(i): k for k, i in enumerate(idx)}
    return Reads(r.chrom[idx], s[idx], (e - s)[idx], r.rev[idx],
                 {remap[i]: v for i, v in r.spliced.items() if i in remap})


# ----------------------------------------------------------------------------- assays
def uniform_reads(rng, n: int, chrom_ids: np.ndarray, chrom_lens: np.ndarray, rl: int) -> Reads:
    """n reads placed uniformly over the chromosomes ``chrom_ids`` (∝ length), random strand."""
    lens = chrom_lens[chrom_ids].astype(np.float64)
    c = chrom_ids[rng.choice(len(chrom_ids), size=n, p=lens / lens.sum())]
    start = (rng.random(n) * np.maximum(chrom_lens[c] - rl, 1)).astype(np.int64)
    return Reads(c, start, np.full(n, rl, dtype=np.int64), rng.random(n) < 0.5)


def chipexo_reads(rng, n: int, site_chrom, site_start, site_end, rl: int, jitter_sd: float) -> Reads:
    """n reads whose 5′ ends pile up at the borders of the given bound sites."""
    if n == 0 or len(site_chrom) == 0:
        return Reads.concat([])
    k = rng.integers(0, len(site_chrom), size=n)
    rev = rng.random(n) < 0.5
    j = np.abs(np.rint(rng.normal(0.0, jitter_sd, size=n))).astype(np.int64)
    five = np.where(rev, site_end[k] - 1 + j, site_start[k] - j)
    start = np.where(rev, five - rl + 1, five)
    return Reads(np.asarray(site_chrom)[k], start, np.full(n, rl, dtype=np.int64), rev)


def fragment_end_reads(rng, chrom: np.ndarray, dyad: np.ndarray, sd: np.ndarray, rl: int,
                       half: int) -> Reads:
    """One read per nucleosome fragment: dyads (R,) jittered by Normal(0, sd), read from
    the left end (+) or the right end (−) of the footprint [dyad − half, dyad + half]."""
    n = len(dyad)
    d = dyad + np.rint(rng.normal(0.0, 1.0, size=n) * sd).astype(np.int64)
    rev = rng.random(n) < 0.5
    start = np.where(rev, d + half - rl + 1, d - half)
    return Reads(np.asarray(chrom), start, np.full(n, rl, dtype=np.int64), rev)


def transcript_reads(rng, counts: np.ndarray, genes: list, chrom_index: dict, rl: int) -> Reads:
    """RNA-seq reads: ``counts[g]`` reads from gene g, uniform on its spliced transcript.

    ``genes[g]`` = (chrom, strand, exons) with exons a sorted list of (start, end) bp.
    Reads crossing an exon junction get spliced blocks (CIGAR ``N`` over the intron).
    """
    chroms, starts, lens, revs, spliced = [], [], [], [], {}
    base = 0
    for g in np.nonzero(counts)[0]:
        chrom, strand, exons = genes[g]
        ex = np.asarray(exons, dtype=np.int64)
        el = ex[:, 1] - ex[:, 0]
        cum = np.concatenate([[0], np.cumsum(el)])
        tlen = int(cum[-1])
        L = min(rl, tlen)
        n = int(counts[g])
        u = rng.integers(0, tlen - L + 1, size=n)
        e_idx = np.searchsorted(cum, u, side="right") - 1
        gstart = ex[e_idx, 0] + (u - cum[e_idx])
        single = (u + L) <= cum[e_idx + 1]
        for i in np.nonzero(~single)[0]:
            blocks, t, left = [], int(u[i]), L
            k = int(e_idx[i])
            while left > 0:
                off = t - int(cum[k])
                take = min(left, int(el[k]) - off)
                blocks.append((int(ex[k, 0]) + off, int(ex[k, 0]) + off + take))
                left -= take
                t += take
                k += 1
            spliced[base + int(i)] = blocks
        chroms.append(np.full(n, chrom_index[chrom], dtype=np.int64))
        starts.append(gstart)
        lens.append(np.full(n, L, dtype=np.int64))
        revs.append(np.full(n, strand == "-"))
        base += n
    if not chroms:
        return Reads.concat([])
    return Reads(np.concatenate(chroms), np.concatenate(starts), np.concatenate(lens),
                 np.concatenate(revs), spliced)


# ----------------------------------------------------------------------------- BAM
def write_bam(path, reads: Reads, chrom_names: list, chrom_lens: np.ndarray, seqs: dict,
              name_prefix: str, description: str = "SIMULATED by yeastzoi.simulate.run") -> int:
    """Write ``reads`` as a coordinate-sorted, indexed BAM (``path`` and ``path.bai``,
    both atomic). ``seqs``: chromosome name → uint8 codes (for SEQ). Returns the number
    of records. The header lists every genome chromosome (names and lengths)."""
    import pysam

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    order = np.lexsort((reads.start, reads.chrom))
    sam = path.with_name(f".{path.name}.{os.getpid()}.sam")
    text_seqs = {c: _BASES[np.asarray(s)].tobytes().decode() for c, s in seqs.items()}
    try:
        with open(sam, "w") as fh:
            fh.write("@HD\tVN:1.6\tSO:unsorted\n")
            for c, n in zip(chrom_names, chrom_lens):
                fh.write(f"@SQ\tSN:{c}\tLN:{int(n)}\n")
            fh.write(f"@CO\t{description}\n")
            lines = []
            chrom_arr, start_arr, len_arr, rev_arr = reads.chrom, reads.start, reads.length, reads.rev
            for k, i in enumerate(order):
                c = chrom_names[chrom_arr[i]]
                seq_c = text_seqs[c]
                blocks = reads.spliced.get(int(i))
                if blocks is None:
                    s = int(start_arr[i])
                    ln = int(len_arr[i])
                    cigar = f"{ln}M"
                    seq = seq_c[s:s + ln]
                else:
                    s = blocks[0][0]
                    parts, seq_parts, prev = [], [], None
                    for a, b in blocks:
                        if prev is not None:
                            parts.append(f"{a - prev}N")
                        parts.append(f"{b - a}M")
                        seq_parts.append(seq_c[a:b])
                        prev = b
                    cigar = "".join(parts)
                    seq = "".join(seq_parts)
                flag = 16 if rev_arr[i] else 0
                lines.append(f"{name_prefix}.{k}\t{flag}\t{c}\t{s + 1}\t60\t{cigar}\t*\t0\t0\t{seq}\t*\n")
                if len(lines) >= 100_000:
                    fh.write("".join(lines))
                    lines = []
            fh.write("".join(lines))
        with atomic_path(path) as tmp:
            pysam.sort("--no-PG", "-l", "1", "-O", "BAM", "-o", str(tmp), str(sam))
        with atomic_path(str(path) + ".bai") as tmp_bai:
            pysam.index(str(path), str(tmp_bai))
    finally:
        if sam.exists():
            sam.unlink()
    return len(order)
