"""Losses and metrics against hand-written numpy formulas."""
import numpy as np
import pytest

from yeastzoi.train import losses as losses
from yeastzoi.train.metrics import PearsonR2, track_sums


@pytest.fixture()
def yp():
    rng = np.random.default_rng(0)
    y = rng.gamma(2.0, 1.0, size=(3, 10, 4)).astype("float32")
    p = rng.gamma(2.0, 1.0, size=(3, 10, 4)).astype("float32")
    return y, p


def test_poisson_and_mse(yp):
    y, p = yp
    want = (p - y * np.log(p + 1e-7)).mean(axis=(1, 2))
    np.testing.assert_allclose(np.asarray(losses.poisson(y, p)), want, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(losses.mse(y, p)), ((y - p) ** 2).mean(axis=(1, 2)), rtol=1e-5)


def test_poisson_mn_formula(yp):
    y, p = yp
    y64, p64 = y.astype(float) + 1e-7, p.astype(float) + 1e-7
    st, sp = y64.sum(1), p64.sum(1)                       # (B, T)
    pois = (sp - st * np.log(sp)).mean(-1) / y.shape[1]
    multi = (-(y64 * np.log(p64 / sp[:, None, :])).sum(1)).mean(-1) / y.shape[1]  # both terms / L (Borzoi)
    for tw in (0.2, 1.0):
        np.testing.assert_allclose(np.asarray(losses.poisson_mn(y, p, tw)), multi + tw * pois, rtol=1e-5)
    # the multinomial part depends only on the shape: scaling p changes only the Poisson term
    a = np.asarray(losses.poisson_mn(y, p * 3.0, 0.0))
    np.testing.assert_allclose(a, np.asarray(losses.poisson_mn(y, p, 0.0)), rtol=1e-4)
    assert not np.allclose(np.asarray(losses.poisson_mn(y, p * 3.0, 1.0)),
                           np.asarray(losses.poisson_mn(y, p, 1.0)))


def test_mlm_loss_divides_by_mask_count():
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(4), size=(2, 50)).astype("float32")
    y = rng.integers(0, 4, (2, 50))
    y[0, :5] = 4                                          # N at unmasked positions
    m = np.zeros((2, 50), "float32")
    m[:, 10:20] = 1
    w = m * np.where(np.arange(50) < 15, 0.1, 1.0)
    ce = -np.log(np.take_along_axis(probs, np.minimum(y, 3)[..., None], -1)[..., 0])
    want = (w * ce).sum() / m.sum()
    assert abs(float(losses.mlm_loss(y, probs, w, m)) - want) < 1e-5
    wce, uce, corr, n = (float(v) for v in losses.mlm_sums(y, probs, w, m))
    assert n == 20 and abs(uce - (m * ce).sum()) < 1e-4
    assert corr == float((m * (probs.argmax(-1) == y)).sum())


def test_pearson_r2_accumulates_over_batches(yp):
    y, p = yp
    p = p + y                                            # correlated
    acc = PearsonR2(4)
    for i in range(3):                                   # per-batch sums, summed
        acc.add(np.asarray(track_sums(y[i:i + 1], p[i:i + 1])))
    yf, pf = y.reshape(-1, 4).astype(float), p.reshape(-1, 4).astype(float)
    want_r = [np.corrcoef(yf[:, t], pf[:, t])[0, 1] for t in range(4)]
    want_r2 = [1 - ((yf[:, t] - pf[:, t]) ** 2).sum() / ((yf[:, t] - yf[:, t].mean()) ** 2).sum()
               for t in range(4)]
    np.testing.assert_allclose(acc.pearsonr(), want_r, rtol=1e-5)
    np.testing.assert_allclose(acc.r2(), want_r2, rtol=1e-5)
    acc2 = PearsonR2(4)
    acc2.update(y, p)
    np.testing.assert_allclose(acc2.pearsonr(), want_r, rtol=1e-6)
    # a constant track has no correlation: NaN, ignored by the summary mean
    acc3 = PearsonR2(2)
    acc3.update(np.stack([yf[:, 0], np.ones(len(yf))], 1), pf[:, :2])
    r = acc3.pearsonr()
    assert np.isfinite(r[0]) and np.isnan(r[1])
    assert acc3.summary()["pearsonr"] == pytest.approx(r[0])
