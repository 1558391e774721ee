"""The reference ↔ strain coordinate map: the one place positions cross genomes.

A strain genome (``yeastzoi_genome.py apply-vcf`` or a SIMULATED strain) differs from its
reference by substitutions (which keep coordinates) and indels (which shift them). Per
chromosome the map is the list of ungapped aligned blocks ``(ref_start, strain_start,
size)`` in bp, 0-based, sorted; between two blocks lie the reference bases the strain
deleted and/or the strain bases it inserted. Chromosome names are the same in both genomes.

On disk a strain folder carries the map as ``reference_to_strain.chain`` in the UCSC chain
format (target = reference, query = strain, both on the + strand; one chain per
chromosome), so UCSC ``liftOver`` and CrossMap read it too.

Rules (all coordinates bp, 0-based; intervals half-open):

* **a position** maps exactly when it lies in an aligned block (``side="exact"``; -1 where
  it does not: a reference base the strain deleted, or a strain base inserted into the
  reference). ``side="next"`` maps an unaligned position to the first aligned position
  after it (the deletion point, for a deleted base); ``side="prev"`` to the last aligned
  position before it.
* **an interval** [start, end) maps to [next(start), prev(end - 1) + 1): bases inserted
  strictly inside it are inside the lifted interval, an insertion exactly at either edge
  is outside, deleted edge bases are trimmed. An interval deleted entirely keeps 1 bp at
  the deletion point (features are never dropped; :meth:`CoordMap.lift_intervals` counts
  them).

Built from edits ``(ref_start, ref_len, alt_len)`` (:meth:`CoordMap.from_edits`): an edit
replaces ``ref_len`` reference bases by ``alt_len`` strain bases; the first
``min(ref_len, alt_len)`` of them are aligned base to base (VCF left-anchored indels: the
anchor base aligns), the rest of the longer side is the deletion or insertion.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from .. import YeastzoiError

CHAIN_NAME = "reference_to_strain.chain"


@dataclasses.dataclass
class ChromBlocks:
    """Aligned blocks of one chromosome: int64 arrays of equal length (bp)."""
    ref_start: np.ndarray
    strain_start: np.ndarray
    size: np.ndarray
    ref_size: int
    strain_size: int

    def side(self, to_strain: bool) -> tuple[np.ndarray, np.ndarray, int]:
        """(source starts, destination starts, destination size) for one direction."""
        if to_strain:
            return self.ref_start, self.strain_start, self.strain_size
        return self.strain_start, self.ref_start, self.ref_size


class CoordMap:
    """Reference ↔ strain coordinates, per chromosome (module docstring: the rules)."""

    def __init__(self, blocks: dict[str, ChromBlocks]):
        self.blocks = blocks

    # ------------------------------------------------------------------ building
    @classmethod
    def identity(cls, sizes: dict[str, int]) -> "CoordMap":
        z = np.zeros(1, np.int64)
        return cls({c: ChromBlocks(z.copy(), z.copy(), np.array([n], np.int64), int(n), int(n))
                    for c, n in sizes.items()})

    @classmethod
    def from_edits(cls, ref_sizes: dict[str, int], edits: dict[str, list[tuple[int, int, int]]]) -> "CoordMap":
        """``edits``: chromosome → [(ref_start, ref_len, alt_len)], non-overlapping (sorted
        here); chromosomes without edits map to themselves."""
        out = {}
        for chrom, n in ref_sizes.items():
            rs, qs, sz = [], [], []
            r = q = 0          # next unconsumed reference / strain base
            for s, rl, al in sorted(edits.get(chrom, ())):
                if s < r:
                    raise YeastzoiError(f"coordinate map: overlapping edits on {chrom} at {s}")
                common = min(rl, al)
                blk = s + common - r          # aligned bases up to the end of the common part
                if rl != al:
                    if blk > 0:
                        if sz and rs[-1] + sz[-1] == r and qs[-1] + sz[-1] == q:
                            sz[-1] += blk  # extend the previous block (no gap between)
                        else:
                            rs.append(r), qs.append(q), sz.append(blk)
                    r, q = s + rl, q + blk + (al - common)
            if r < n or not sz:
                blk = n - r
                if blk > 0:
                    if sz and rs[-1] + sz[-1] == r and qs[-1] + sz[-1] == q:
                        sz[-1] += blk
                    else:
                        rs.append(r), qs.append(q), sz.append(blk)
                q += max(blk, 0)
            out[chrom] = ChromBlocks(np.array(rs, np.int64), np.array(qs, np.int64), np.array(sz, np.int64),
                                     int(n), int(q))
        return cls(out)

    # ------------------------------------------------------------------ files
    def write_chain(self, path) -> Path:
        """Write the UCSC chain file (target = reference, query = strain)."""
        lines = []
        for i, (chrom, b) in enumerate(self.blocks.items(), 1):
            if not len(b.size):
                continue
            t0, q0 = int(b.ref_start[0]), int(b.strain_start[0])
            t1, q1 = int(b.ref_start[-1] + b.size[-1]), int(b.strain_start[-1] + b.size[-1])
            lines.append(f"chain {int(b.size.sum())} {chrom} {b.ref_size} + {t0} {t1} "
                         f"{chrom} {b.strain_size} + {q0} {q1} {i}")
            for k in range(len(b.size) - 1):
                dt = b.ref_start[k + 1] - b.ref_start[k] - b.size[k]
                dq = b.strain_start[k + 1] - b.strain_start[k] - b.size[k]
                lines.append(f"{b.size[k]}\t{dt}\t{dq}")
            lines.append(f"{b.size[-1]}")
            lines.append("")
        from ..fileio import write_text_atomic

        write_text_atomic(path, "\n".join(lines) + ("\n" if lines else ""))
        return Path(path)

    @classmethod
    def read_chain(cls, path) -> "CoordMap":
        """Read a chain file written by :meth:`write_chain` (one + strand chain per chromosome,
        the same name on both sides)."""
        path = Path(path)
        if not path.is_file():
            raise YeastzoiError(f"{path}: coordinate map (chain file) not found; rebuild the strain folder")
        out, cur = {}, None
        with open(path) as fh:
            for ln, line in enumerate(fh, 1):
                f = line.split()
                if not f:
                    continue
                try:
                    if f[0] == "chain":
                        if len(f) < 12 or f[4] != "+" or f[9] != "+" or f[2] != f[7]:
                            raise ValueError("need a + strand chain with the same name on both sides")
                        cur = [f[2], int(f[3]), int(f[8]), int(f[5]), int(f[10]), [], [], []]
                        out[f[2]] = cur
                        continue
                    if cur is None:
                        raise ValueError("block line before any chain line")
                    t, q = cur[3], cur[4]
                    size = int(f[0])
                    cur[5].append(t), cur[6].append(q), cur[7].append(size)
                    if len(f) >= 3:
                        cur[3], cur[4] = t + size + int(f[1]), q + size + int(f[2])
                except ValueError as exc:
                    raise YeastzoiError(f"{path} line {ln}: not a chain file line ({exc}): {line.strip()[:60]!r}") \
                        from None
        return cls({c: ChromBlocks(np.array(v[5], np.int64), np.array(v[6], np.int64), np.array(v[7], np.int64),
                                   v[1], v[2]) for c, v in out.items()})

    # ------------------------------------------------------------------ mapping
    def _chrom(self, chrom: str) -> ChromBlocks:
        try:
            return self.blocks[chrom]
        except KeyError:
            raise YeastzoiError(f"chromosome {chrom!r} is not in the coordinate map "
                                f"({', '.join(list(self.blocks)[:8])}...)") from None

    def _map(self, chrom: str, pos, to_strain: bool, side: str) -> np.ndarray:
        b = self._chrom(chrom)
        src, dst, dst_size = b.side(to_strain)
        x = np.asarray(pos, np.int64)
        if not len(src):
            return np.full(x.shape, -1 if side == "exact" else 0, np.int64)
        k = np.searchsorted(src, x, side="right") - 1
        kc = np.maximum(k, 0)
        inside = (k >= 0) & (x < src[kc] + b.size[kc])
        out = np.where(inside, dst[kc] + (x - src[kc]), -1)
        if side == "next":
            nxt = np.minimum(k + 1, len(src) - 1)
            after = np.where(k + 1 < len(src), dst[nxt], dst_size)
            out = np.where(inside, out, after)
        elif side == "prev":
            out = np.where(inside, out, np.where(k >= 0, dst[kc] + b.size[kc] - 1, -1))
        elif side != "exact":
            raise ValueError(side)
        return out

    def to_strain(self, chrom: str, pos, side: str = "exact") -> np.ndarray:
        """Reference positions → strain positions (module docstring: ``side``)."""
        return self._map(chrom, pos, True, side)

    def to_reference(self, chrom: str, pos, side: str = "exact") -> np.ndarray:
        """Strain positions → reference positions (-1 for inserted bases with ``exact``)."""
        return self._map(chrom, pos, False, side)

    def lift_interval_arrays(self, chrom: str, start, end, to_strain: bool = True):
        """Lift [start, end) intervals: (start', end', fully_deleted bool array)."""
        s = self._map(chrom, start, to_strain, "next")
        e = self._map(chrom, np.asarray(end, np.int64) - 1, to_strain, "prev") + 1
        gone = e <= s
        dst_size = self._chrom(chrom).side(to_strain)[2]
        s = np.where(gone, np.minimum(s, max(dst_size - 1, 0)), s)
        e = np.where(gone, s + 1, e)
        return s, e, gone

    def lift_intervals(self, df: pd.DataFrame, to_strain: bool = True) -> tuple[pd.DataFrame, int]:
        """A table with ``chrom``, ``start``, ``end`` columns lifted (other columns kept);
        returns (lifted table, number of intervals deleted entirely, kept as 1 bp)."""
        df = df.copy()
        gone_total = 0
        starts, ends = df["start"].to_numpy(np.int64).copy(), df["end"].to_numpy(np.int64).copy()
        for chrom, idx in df.groupby("chrom", sort=False).indices.items():
            if chrom not in self.blocks:
                continue
            s, e, gone = self.lift_interval_arrays(chrom, starts[idx], ends[idx], to_strain)
            starts[idx], ends[idx] = s, e
            gone_total += int(gone.sum())
        df["start"], df["end"] = starts, ends
        return df, gone_total

    def lift_region(self, chrom: str, start: int, end: int, to_strain: bool = True) -> tuple[int, int]:
        """One [start, end) interval lifted (a region given in the other genome's coordinates)."""
        s, e, _ = self.lift_interval_arrays(chrom, [start], [end], to_strain)
        return int(s[0]), int(e[0])

    def inserted(self, chrom: str) -> list[tuple[int, int, int]]:
        """Strain intervals [start, end) not in the reference, with the reference position
        they were inserted before: [(strain_start, strain_end, ref_pos)]."""
        b = self._chrom(chrom)
        out = []
        q_end, r_end = 0, 0
        for r0, q0, n in zip(b.ref_start.tolist(), b.strain_start.tolist(), b.size.tolist()):
            if q0 > q_end:
                out.append((q_end, q0, r0))
            q_end, r_end = q0 + n, r0 + n
        if b.strain_size > q_end:
            out.append((q_end, b.strain_size, r_end))
        return out

    def deleted(self, chrom: str) -> list[tuple[int, int]]:
        """Reference intervals [start, end) the strain lacks."""
        b = self._chrom(chrom)
        out, r_end = [], 0
        for r0, n in zip(b.ref_start.tolist(), b.size.tolist()):
            if r0 > r_end:
                out.append((r_end, r0))
            r_end = r0 + n
        if b.ref_size > r_end:
            out.append((r_end, b.ref_size))
        return out

    def is_identity(self, chrom: str) -> bool:
        b = self._chrom(chrom)
        return len(b.size) == 1 and b.ref_start[0] == 0 and b.strain_start[0] == 0 and \
            b.size[0] == b.ref_size == b.strain_size


__all__ = ["CHAIN_NAME", "ChromBlocks", "CoordMap"]
