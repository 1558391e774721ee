"""Predicted strain tracks lifted to reference coordinates through the strain's coordinate map.

A strain's prediction (``yeastzoi_predict.py --strain`` / ``--vcf --sample``) is written in
the strain's own coordinates (its bins tile the strain sequence). Lifted to the reference
(``--lift-to-reference``), the rule is per base (:mod:`yeastzoi.genome.coordmap`):

* a reference base aligned to a strain base takes the value of the strain bin holding that
  base; runs of equal values are written as one bigWig entry, so where the strain's bins
  line up with the reference's (no indel between the region start and the bin, or indels
  summing to a multiple of the bin width) the lifted track has the reference's bins;
* a reference base the strain deleted gets no value (a gap in the bigWig);
* strain bases inserted into the reference have no reference coordinate: they are not
  merged into a neighbour; each insertion inside a predicted region is listed in
  ``inserted.bed`` (reference chrom, the reference position it was inserted before, that
  position + 1, strain start-end, inserted bp, bins wholly inside it) and counted.

All coordinates bp, 0-based half-open.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ..fileio import atomic_path, write_text_atomic
from ..genome.coordmap import CoordMap


@dataclasses.dataclass
class LiftReport:
    files: list
    inserted_bp: int
    inserted_bins: int
    deleted_bp: int
    insertions: int


def value_runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of runs of equal finite values in a 1-D array (NaN = no data)."""
    v = np.asarray(values, np.float64)
    ok = np.isfinite(v)
    if not ok.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    change = np.ones(len(v), bool)
    change[1:] = (v[1:] != v[:-1]) | (ok[1:] != ok[:-1])
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], len(v))
    keep = ok[starts]
    return starts[keep], ends[keep]


def lift_to_reference(strain_bigwigs, out_dir, cmap: CoordMap, ref_sizes: dict, ref_regions,
                      pool_width: int) -> LiftReport:
    """Write ``out_dir/<name>`` (reference coordinates) for each strain bigWig and
    ``out_dir/inserted.bed``. ``ref_regions``: [(chrom, start, end)] in reference
    coordinates (the regions that were predicted, after lifting to the strain)."""
    import pyBigWig

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    header = [(c, int(n)) for c, n in ref_sizes.items()]
    order = {c: i for i, c in enumerate(ref_sizes)}
    regions = sorted(ref_regions, key=lambda r: (order[r[0]], r[1]))
    # per region: reference position -> strain position (exact), and the strain span
    plans = []
    ins_rows, ins_bp, ins_bins, del_bp = [], 0, 0, 0
    for chrom, rs, re_ in regions:
        q = cmap.to_strain(chrom, np.arange(rs, re_))
        qs, qe = cmap.lift_region(chrom, rs, re_)
        plans.append((chrom, rs, re_, q, qs, qe))
        del_bp += int((q < 0).sum())
        for a, b, r in cmap.inserted(chrom):
            lo, hi = max(a, qs), min(b, qe)
            if lo >= hi:
                continue
            whole = max(0, (hi // pool_width) - (-(-lo // pool_width)))  # bins wholly inside [lo, hi)
            ins_rows.append((chrom, r, r + 1, lo, hi, hi - lo, whole))
            ins_bp += hi - lo
            ins_bins += whole
    files = []
    for src in strain_bigwigs:
        src = Path(src)
        dst = out_dir / src.name
        bw_in = pyBigWig.open(str(src))
        try:
            with atomic_path(dst) as tmp:
                bw = pyBigWig.open(str(tmp), "w")
                bw.addHeader(header, maxZooms=10)
                for chrom, rs, re_, q, qs, qe in plans:
                    strain_vals = np.asarray(bw_in.values(chrom, qs, qe, numpy=True), np.float64)
                    vals = np.full(len(q), np.nan)
                    ok = q >= 0
                    vals[ok] = strain_vals[q[ok] - qs]
                    s, e = value_runs(vals)
                    if len(s):
                        bw.addEntries([chrom] * len(s), (s + rs).tolist(), ends=(e + rs).tolist(),
                                      values=vals[s].tolist())
                bw.close()
        finally:
            bw_in.close()
        files.append(dst)
    write_text_atomic(out_dir / "inserted.bed", "".join(
        "\t".join(str(x) for x in (c, r0, r1, f"strain:{a}-{b}", n, w)) + "\n"
        for c, r0, r1, a, b, n, w in ins_rows))
    return LiftReport(files, ins_bp, ins_bins, del_bp, len(ins_rows))


__all__ = ["LiftReport", "value_runs", "lift_to_reference"]
