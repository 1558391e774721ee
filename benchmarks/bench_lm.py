#!/usr/bin/env python3
"""Learning curve of a masked-LM training run against its baselines and Shorkie.

  bin/yeastzoi_eval_mlm.py --baselines-only lm_data -o base --split valid --max-windows 100
  benchmarks/bench_lm.py r64_lm -o bench_lm --eval base/mlm_summary.json

Reads TRAIN_DIR/history.csv (epoch, valid_ce, valid_loss, seconds, steps) and the batch size
from TRAIN_DIR/params.json; writes OUT/learning_curve.tsv (epoch, hours = cumulative wall
time, seqs_seen = cumulative steps × train.batch_size (one replica assumed), valid_ce,
valid_loss) and OUT/learning_curve.png: valid CE vs wall time and vs sequences seen, with the baselines'
valid CE (k-mer, Markov: from an ``--eval`` mlm_summary.json of yeastzoi_eval_mlm.py) as
horizontal lines, and a third panel on the Shorkie-weighted scale (exon 0.1 × repeat 0.1,
Σ w·CE / number of masked positions) with the baselines' loss_shorkie, Shorkie's 0.418
(R64-only LM, DESIGN.md) and the model's own numbers on that scale: the trainer's
valid_loss when the run used Shorkie's weights (it includes the L2 penalty), and the
loss_shorkie of the evaluated LM when the summary has one (drawn at the best epoch).
Prints how far the best valid numbers are from each level. Numbers, not asserts.

Comparability: the trainer's valid numbers cover its first eval_steps_max × batch_size
valid windows when eval_steps_max is set (r64_lm: 100 of 647); evaluate the baselines with
``--max-windows`` equal to that for the same masked positions (the masks are seeded per
window, so they are the trainer's).
"""
import argparse
import csv
import json
import sys
from pathlib import Path

SHORKIE_R64 = 0.418
SHORKIE_SCALES = {"exon_loss_scale": 0.1, "non_exon_loss_scale": 1.0,
                  "repeat_loss_scale": 0.1, "non_repeat_loss_scale": 1.0}


def read_curve(train_dir: Path) -> tuple[list[dict], dict]:
    params = json.loads((train_dir / "params.json").read_text())
    train = params.get("train", {})
    batch = int(train.get("batch_size", 4))   # per replica: one replica assumed
    rows, secs, seqs = [], 0.0, 0
    with open(train_dir / "history.csv", newline="") as f:
        for r in csv.DictReader(f):
            secs += float(r["seconds"])
            seqs += int(float(r["steps"])) * batch
            rows.append({"epoch": int(float(r["epoch"])), "hours": secs / 3600, "seqs_seen": seqs,
                         "valid_ce": float(r["valid_ce"]), "valid_loss": float(r["valid_loss"])})
    if not rows:
        raise SystemExit(f"error: {train_dir}/history.csv has no epochs yet")
    return rows, train


def levels(summary_path) -> tuple[dict, dict, int | None]:
    """({model: valid CE}, {model: valid loss_shorkie}, max_windows) of an mlm_summary.json."""
    if not summary_path:
        return {}, {}, None
    s = json.loads(Path(summary_path).read_text())
    valid = s.get("splits", {}).get("valid")
    if valid is None:
        raise SystemExit(f"error: {summary_path} has no valid split; run yeastzoi_eval_mlm.py --split valid")
    ce = {m: v["ce"] for m, v in valid["all"].items()}
    loss = {m: v["loss_shorkie"] for m, v in valid["all"].items()}
    return ce, loss, s.get("max_windows")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("train_dir", help="training folder (history.csv, params.json)")
    ap.add_argument("-o", "--out", required=True, help="output folder")
    ap.add_argument("--eval", default=None, help="mlm_summary.json of yeastzoi_eval_mlm.py with a valid split")
    args = ap.parse_args(argv)
    train_dir, out = Path(args.train_dir), Path(args.out)
    for name in ("history.csv", "params.json"):
        if not (train_dir / name).exists():
            print(f"error: {train_dir} has no {name}", file=sys.stderr)
            return 2
    rows, train = read_curve(train_dir)
    ce_levels, loss_levels, max_windows = levels(args.eval)
    lm_loss = loss_levels.pop("lm", None)
    ce_levels.pop("lm", None)
    shorkie_weighted = all(float(train.get(k, 1.0)) == v for k, v in SHORKIE_SCALES.items())

    out.mkdir(parents=True, exist_ok=True)
    cols = ["epoch", "hours", "seqs_seen", "valid_ce", "valid_loss"]
    with open(out / "learning_curve.tsv", "w") as f:
        f.write("\t".join(cols) + "\n")
        for r in rows:
            f.write("\t".join(f"{r[c]:.6g}" if isinstance(r[c], float) else str(r[c]) for c in cols) + "\n")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    best = min(rows, key=lambda r: r["valid_ce"])
    for ax, x, xlabel in ((axes[0], "hours", "wall time (hours)"), (axes[1], "seqs_seen", "sequences seen")):
        ax.plot([r[x] for r in rows], [r["valid_ce"] for r in rows], "o-", color="C0", label="LM valid CE")
        for k, (m, v) in enumerate(ce_levels.items()):
            ax.axhline(v, ls="--", color=f"C{k + 1}", label=f"{m} CE {v:.4f}")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("masked CE (nats)")
        ax.legend(fontsize=8)
    ax = axes[2]
    if shorkie_weighted:
        ax.plot([r["hours"] for r in rows], [r["valid_loss"] for r in rows], "o-", color="C0",
                label="LM valid loss (+L2)")
    if lm_loss is not None:
        ax.plot([best["hours"]], [lm_loss], "s", color="C0", ms=8, label=f"LM evaluated {lm_loss:.4f}")
    for k, (m, v) in enumerate(loss_levels.items()):
        ax.axhline(v, ls="--", color=f"C{k + 1}", label=f"{m} {v:.4f}")
    ax.axhline(SHORKIE_R64, ls=":", color="k", label=f"Shorkie R64 LM {SHORKIE_R64}")
    ax.sharex(axes[0])
    ys = [SHORKIE_R64, *loss_levels.values()] + ([lm_loss] if lm_loss is not None else []) + (
        [r["valid_loss"] for r in rows] if shorkie_weighted else [])
    pad = 0.1 * (max(ys) - min(ys)) + 0.005
    ax.set_ylim(min(ys) - pad, max(ys) + pad)
    ax.set_xlabel("wall time (hours)")
    ax.set_ylabel("Shorkie-weighted valid loss")
    ax.legend(fontsize=8)
    fig.suptitle(f"{train_dir.name}: masked-LM learning curve")
    fig.tight_layout()
    fig.savefig(out / "learning_curve.png", dpi=120)
    plt.close(fig)

    print(f"best valid CE {best['valid_ce']:.4f} at epoch {best['epoch']} "
          f"({best['hours']:.2f} h, {best['seqs_seen']:,} sequences seen)")
    for m, v in ce_levels.items():
        print(f"  vs {m} CE {v:.4f}: {best['valid_ce'] - v:+.4f} nats ({best['valid_ce'] / v:.4f}x)")
    if shorkie_weighted:
        wbest = min(r["valid_loss"] for r in rows)
        print(f"best valid loss (Shorkie weights, + L2) {wbest:.4f}: {wbest - SHORKIE_R64:+.4f} vs Shorkie's "
              f"{SHORKIE_R64}" + "".join(f"; {v - wbest:+.4f} below {m}" for m, v in loss_levels.items()))
    if lm_loss is not None:
        print(f"evaluated LM loss_shorkie {lm_loss:.4f}: {lm_loss - SHORKIE_R64:+.4f} vs Shorkie's {SHORKIE_R64}"
              + "".join(f"; {lm_loss - v:+.4f} vs {m} {v:.4f}" for m, v in loss_levels.items()))
    elif not shorkie_weighted:
        print(f"(trained with {', '.join(f'{k}={train.get(k, 1.0)}' for k in SHORKIE_SCALES)}: its valid_loss is "
              f"not on Shorkie's scale; pass --eval with the LM's mlm_summary.json for loss_shorkie vs "
              f"{SHORKIE_R64}" + "".join(f", {m} {v:.4f}" for m, v in loss_levels.items()) + ")")
    n_eval = train.get("eval_steps_max")
    if n_eval:
        n_win = int(n_eval) * int(train.get("batch_size", 4))
        same = max_windows == n_win
        print(f"note: the trainer's valid numbers cover its first {n_win} valid windows (eval_steps_max "
              f"{n_eval}); the --eval levels cover {max_windows or 'all'} windows"
              + ("" if same or not args.eval else f": rerun yeastzoi_eval_mlm.py with --max-windows {n_win}"))
    print(f"wrote {out / 'learning_curve.tsv'}, {out / 'learning_curve.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
