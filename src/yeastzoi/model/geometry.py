"""Output-bin geometry, re-exported from :mod:`yeastzoi.data.geometry` (its home: the one
mapping from a window to its target bins and from a gene to its bins lives in ``data/`` so
that dataset builders below ``model/`` — promoter-library records — use the same rule as
evaluation and scoring)."""
from __future__ import annotations

from ..data.geometry import (Geometry, Window, centred_window, centred_window_start, gene_window_start,
                             tile_region, variant_window_start)

__all__ = ["Geometry", "Window", "centred_window", "centred_window_start", "gene_window_start",
           "tile_region", "variant_window_start"]
