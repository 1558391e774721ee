"""Distances between genomes: MinHash sketches (sourmash), Mash distance and ANI, a tree.

Sketches: ``sourmash`` (k = 21, scaled 1000 by default: one hash kept per ~1000 distinct
k-mers); Jaccard J → Mash distance D = −ln(2J / (1 + J)) / k and ANI ≈ 1 − D; sourmash's
own Jaccard-based ANI is listed beside it. Tree: neighbour joining on the Mash distances,
rooted on the reference species (first sheet row) as outgroup.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from yeastzoi.genome.fasta import iter_fasta


def sketch(fasta, ksize: int = 21, scaled: int = 1000):
    """sourmash MinHash of every k-mer (both strands) of a FASTA; k-mers with N are skipped."""
    import sourmash
    mh = sourmash.MinHash(n=0, ksize=ksize, scaled=scaled)
    for _, seq in iter_fasta(fasta):
        mh.add_sequence(seq.upper(), force=True)
    return mh


def mash_distance(jaccard: float, ksize: int) -> float:
    """Mash distance −ln(2J/(1+J))/k (1.0 when nothing is shared)."""
    if jaccard <= 0:
        return 1.0
    return min(1.0, -math.log(2 * jaccard / (1 + jaccard)) / ksize)


def pairwise_distances(sketches: dict, ksize: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(long table name_a, name_b, jaccard, mash_distance, ani, ani_sourmash, shared_hashes;
    square Mash distance matrix)."""
    names = list(sketches)
    mat = pd.DataFrame(0.0, index=names, columns=names)
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            j = sketches[a].jaccard(sketches[b])
            d = mash_distance(j, ksize)
            try:
                ani_sm = float(sketches[a].jaccard_ani(sketches[b]).ani)
            except Exception:  # sourmash versions differ; the Mash estimate is the primary one
                ani_sm = float("nan")
            shared = sketches[a].count_common(sketches[b])
            rows.append((a, b, j, d, 1 - d, ani_sm, shared))
            mat.loc[a, b] = mat.loc[b, a] = d
    long = pd.DataFrame(rows, columns=["name_a", "name_b", "jaccard", "mash_distance", "ani", "ani_sourmash",
                                       "shared_hashes"])
    return long, mat


def neighbor_joining(dist: pd.DataFrame) -> dict:
    """Unrooted NJ tree of a square distance matrix → adjacency {node: {neighbour: length}}
    (leaves are the names; internal nodes ``_n1``, ``_n2`` …). Negative lengths are set to 0."""
    names = list(dist.index)
    D = dist.to_numpy(float).copy()
    nodes = list(names)
    adj: dict = {n: {} for n in nodes}
    k = 0

    def link(a, b, length):
        length = max(0.0, float(length))
        adj.setdefault(a, {})[b] = length
        adj.setdefault(b, {})[a] = length

    while len(nodes) > 2:
        n = len(nodes)
        r = D.sum(1)
        Q = (n - 2) * D - r[:, None] - r[None, :]
        np.fill_diagonal(Q, np.inf)
        i, j = np.unravel_index(np.argmin(Q), Q.shape)
        i, j = min(i, j), max(i, j)
        li = 0.5 * D[i, j] + (r[i] - r[j]) / (2 * (n - 2))
        lj = D[i, j] - li
        k += 1
        u = f"_n{k}"
        link(nodes[i], u, li)
        link(nodes[j], u, lj)
        du = 0.5 * (D[i] + D[j] - D[i, j])
        keep = [x for x in range(n) if x not in (i, j)]
        D2 = np.zeros((n - 1, n - 1))
        D2[:-1, :-1] = D[np.ix_(keep, keep)]
        D2[-1, :-1] = D2[:-1, -1] = du[keep]
        D = D2
        nodes = [nodes[x] for x in keep] + [u]
    if len(nodes) == 2:
        link(nodes[0], nodes[1], D[0, 1])
    return adj


def rooted_tree(adj: dict, root_leaf: str) -> tuple:
    """Root an unrooted tree on ``root_leaf``'s branch (midpoint) → nested tuples
    (name, length, children) with the outgroup first."""
    (nb, length), = adj[root_leaf].items() if len(adj[root_leaf]) == 1 else [(None, 0.0)]

    def build(node, parent, bl):
        kids = [build(c, node, l) for c, l in sorted(adj[node].items()) if c != parent]
        return (node, bl, kids)

    if nb is None:  # single leaf
        return ("", 0.0, [(root_leaf, 0.0, [])])
    return ("", 0.0, [(root_leaf, length / 2, []), build(nb, root_leaf, length / 2)])


def newick(tree: tuple) -> str:
    """Newick text of a tree from :func:`rooted_tree` (internal nodes unlabelled)."""
    def fmt(t):
        name, bl, kids = t
        label = "" if name.startswith("_n") else name
        inner = f"({','.join(fmt(k) for k in kids)})" if kids else ""
        return f"{inner}{label}:{bl:.6g}"
    name, _, kids = tree
    return f"({','.join(fmt(k) for k in kids)});"
