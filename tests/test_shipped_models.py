"""The pretrained models shipped in data/ (``yeastzoi.zoo_model``): contract and learned behaviour.

The numbers these tests compare against are read from the shipped evaluation files, not
written here: r64_lm's ``eval/mlm_summary.json`` (yeastzoi_eval_mlm.py on the real R64
valid/test chromosomes).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from yeastzoi import DATA_DIR, zoo_model

R64 = "Saccharomyces_cerevisiae_R64"


def shipped_summary(name: str) -> dict:
    return json.loads((DATA_DIR / name / "eval" / "mlm_summary.json").read_text())


@pytest.fixture(scope="module")
def r64_lm():
    from yeastzoi.model.loader import load_model
    return load_model(zoo_model("r64_lm"))


def test_r64_lm_contract(r64_lm):
    meta = r64_lm.meta
    assert meta["seq_length"] == 16384
    assert meta["num_features"] == 6                     # 4 DNA + mask + 1 species
    assert meta["species"] == [R64]
    assert meta["num_targets"] == 4 and meta["pool_width"] == 1 and meta["crop_bp"] == 0
    assert meta["task"] == "self-supervised"
    assert r64_lm.model.count_params() == 3_069_396


def test_r64_lm_beats_baselines_in_its_shipped_evaluation():
    """LM below the k-mer and Markov baselines on the same masked valid positions, in plain
    CE and in the loss weighted exon 0.1 / repeats unweighted (and Shorkie's weighting)."""
    s = shipped_summary("r64_lm")
    assert s["mask_rate"] == 0.15 and s["repeats"] == 1 and s["max_windows"] is None
    for split in ("valid", "test"):
        rows = s["splits"][split]["all"]
        for base in ("kmer3", "markov5"):
            for col in ("ce", "loss_exon_only", "loss_shorkie"):
                assert rows["lm"][col] < rows[base][col], (split, base, col)
        assert rows["lm"]["accuracy"] > rows["kmer3"]["accuracy"]


def masked_window_ce(seqnn, codes: np.ndarray, rng: np.random.Generator, rate: float = 0.15):
    """Masked CE (nats) of one window: int(rate·L) non-N positions get the mask token."""
    L = len(codes)
    ok = np.flatnonzero(codes < 4)
    pos = rng.choice(ok, size=int(rate * L), replace=False)
    x = np.zeros((1, L, 6), np.float32)
    x[0, ok, codes[ok]] = 1.0
    x[0, pos, :4] = 0.0
    x[0, pos, 4] = 1.0
    x[0, :, 5] = 1.0                                        # the one species channel
    p = seqnn.predict(x)[0]
    return float(-np.mean(np.log(np.maximum(p[pos, codes[pos]], 1e-12))))


def test_r64_lm_masked_predictions_beat_uniform_on_a_test_window(r64_lm, r64_dir):
    """A fixed window of chrXII (a test chromosome: never trained on) with 15 % of its bases
    masked: the LM's CE is below uniform (ln 4) by at least half the margin its shipped
    evaluation measured on the whole valid split."""
    from yeastzoi.genome import Genome
    with Genome(r64_dir / "genome.fa") as g:
        codes = g.fetch_codes(g.resolve("chrXII"), 200_000, 200_000 + 16384)
    shipped = shipped_summary("r64_lm")["splits"]["valid"]["all"]["lm"]["ce"]
    margin = math.log(4) - shipped
    assert margin > 0.05
    ce = masked_window_ce(r64_lm, np.asarray(codes), np.random.default_rng(12))
    assert ce < math.log(4) - 0.5 * margin, (ce, shipped)


def test_zoo_model_names_the_shipped_models():
    assert zoo_model("r64_lm").name == "model_best.h5"
    from yeastzoi import YeastzoiError
    with pytest.raises(YeastzoiError, match="r64_lm"):
        zoo_model("no_such_model")


@pytest.mark.slow
def test_r64_lm_shipped_evaluation_recomputes(tmp_path, r64_dir):
    """yeastzoi_eval_mlm.py on a freshly built R64 corpus reproduces the shipped valid numbers
    within 0.002 (same masks: the evaluation seed)."""
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    sheet = tmp_path / "species.tsv"
    sheet.write_text(f"name\tfasta\tgtf\trepeats\n{R64}\t{r64_dir}/genome.fa\t{r64_dir}/genes.gtf\t"
                     f"{r64_dir}/repeats.bed\n")
    run = [sys.executable, str(root / "bin" / "yeastzoi_lm_data.py"), str(sheet), "-o", str(tmp_path / "lm"), "-q"]
    subprocess.run(run, check=True)
    subprocess.run([sys.executable, str(root / "bin" / "yeastzoi_eval_mlm.py"), "-", "r64_lm",
                    str(tmp_path / "lm"), "-o", str(tmp_path / "ev"), "--split", "valid", "--kmer", "3",
                    "--markov-order", "5", "-b", "4", "-q", "--no-plots"], check=True)
    new = json.loads((tmp_path / "ev" / "mlm_summary.json").read_text())["splits"]["valid"]["all"]
    old = shipped_summary("r64_lm")["splits"]["valid"]["all"]
    for model in ("lm", "kmer3", "markov5"):
        for col in ("ce", "loss_exon_only", "loss_shorkie"):
            assert abs(new[model][col] - old[model][col]) < 0.002, (model, col)
