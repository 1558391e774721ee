#!/usr/bin/env python3
"""Where a Shorkie step spends its time: forward and forward+backward per trunk block, with
each block's FLOPs and its speed as a fraction of the measured fp32 matrix-multiply peak.

    .venv/bin/python benchmarks/bench_profile.py [--spec ../shared/reference/params/shorkie_finetune.json]
                                                 [--tracks 5215] [--batch 4] [--steps 5] [--json FILE]
                                                 [--set model.trunk[1].dropout=0] [--stages N]

Method: the model is built block by block as :class:`yeastzoi.model.seqnn.SeqNN` builds it;
for every block boundary k a model "input → output of block k" is timed (a compiled
``tf.function``: forward in inference mode; forward + gradient of the summed output with
respect to every trainable weight in training mode), the fastest of ``--steps`` calls after a
tracing call. The time of block k is the difference between prefix k and prefix k−1. FLOPs are
counted per layer from its shapes (2 × multiply-adds of convolutions, dense layers and
attention matmuls; element-wise work not counted); a backward pass is counted as 2 × forward.
The peak is TensorFlow's fp32 4096 × 4096 matmul, measured before and after (median).
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from bench_peer import matmul_peak  # noqa: E402  (the yardstick every benchmark here uses)


def op_ceilings(stages, batch: int, steps: int, peak: float) -> list[dict]:
    """Each distinct Conv1D / Dense shape of the stages timed alone (forward, and forward plus
    both gradients): the speed the network's own ops reach at its shapes, as % of ``peak``."""
    import keras
    import tensorflow as tf
    timed, out, per_stage = {}, [], {}
    for label, _, names, whole in stages:
        for n in names:
            layer = whole.get_layer(n)
            if type(layer) not in (keras.layers.Conv1D, keras.layers.Dense):
                continue
            L, cin, cout = layer.input.shape[1], layer.input.shape[-1], layer.output.shape[-1]
            k = layer.kernel_size[0] if isinstance(layer, keras.layers.Conv1D) else 1
            key = (type(layer).__name__, L, cin, cout, k)
            if L is None:
                continue
            if key in timed:
                fwd_s, train_s = per_stage.get(label, (0.0, 0.0))
                per_stage[label] = (fwd_s + timed[key][0], train_s + timed[key][1])
                continue
            x = tf.random.normal((batch, L, cin))
            w = tf.Variable(tf.random.normal((k, cin, cout) if k > 1 else (cin, cout)))

            def op(x, w=w, k=k):
                return tf.nn.conv1d(x, w, 1, "SAME") if k > 1 else tf.matmul(x, w)
            f = tf.function(lambda x, op=op: tf.reduce_sum(op(x)))

            def g(x, op=op, w=w):
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    y = tf.reduce_sum(op(x))
                return y + tf.add_n([tf.reduce_sum(v) for v in tape.gradient(y, [x, w])])
            gf = tf.function(g)
            flops = 2.0 * batch * L * k * cin * cout
            tf_, tg = time_calls(f, x, steps), time_calls(gf, x, steps)
            timed[key] = (tf_, tg)
            fwd_s, train_s = per_stage.get(label, (0.0, 0.0))
            per_stage[label] = (fwd_s + tf_, train_s + tg)
            out.append(dict(stage=label, op=f"{key[0]} k{k} {L}x{cin}->{cout}", gflop=flops / 1e9,
                            forward_pct_peak=flops / tf_ / 1e9 / peak * 100,
                            train_pct_peak=3 * flops / tg / 1e9 / peak * 100))
    return out, per_stage


def layer_flops(layer) -> float:
    """Forward multiply-add FLOPs (× 2) of one layer per batch element, from its shapes."""
    import keras
    from yeastzoi.model.layers import MultiheadAttention
    try:
        out = layer.output
        inp = layer.input
    except (AttributeError, ValueError):
        return 0.0
    if isinstance(inp, (list, tuple)):
        if not inp:
            return 0.0
        inp = inp[0]
    L_out = out.shape[1] if len(out.shape) == 3 else 1
    cin = inp.shape[-1]
    if isinstance(layer, keras.layers.SeparableConv1D):
        k = layer.kernel_size[0]
        return 2.0 * L_out * (k * cin + cin * out.shape[-1])
    if isinstance(layer, keras.layers.Conv1D):
        return 2.0 * L_out * layer.kernel_size[0] * cin * out.shape[-1]
    if isinstance(layer, keras.layers.Dense):
        return 2.0 * L_out * cin * out.shape[-1]
    if isinstance(layer, MultiheadAttention):
        T, h, k, v = inp.shape[1], layer.heads, layer.key_size, layer.value_size
        proj = 2.0 * T * cin * h * (2 * k + v) + 2.0 * T * h * v * out.shape[-1]
        rel = 2.0 * (2 * T) * layer.num_position_features * h * k      # position projection
        att = 2.0 * h * T * T * (2 * k) + 2.0 * h * T * T * v         # content + position logits, values
        return proj + rel + att
    return 0.0


def build_stages(spec: dict, tracks: int):
    """[(label, stage model, layer names)]: the spec built block by block (a tower split into
    its repeats); each stage model maps the block's inputs (the previous block's output, plus
    the saved tower tensor a U-Net block merges) to its output."""
    import keras
    from yeastzoi.model.blocks import GLOBAL_KEYS, BuildContext
    from yeastzoi.model.layers import geometric_filters
    from yeastzoi.model.seqnn import SeqNN

    spec = json.loads(json.dumps(spec))
    spec["head"]["units"] = tracks
    net = SeqNN(spec, num_features=4)            # validates the spec and gives _block
    ctx = BuildContext()
    inputs = keras.Input((net.seq_length, 4))
    globals_ = {k: net.spec[k] for k in GLOBAL_KEYS if k in net.spec}
    blocks = []
    for i, b in enumerate(net.spec["trunk"]):
        if b["name"] in ("res_tower", "conv_tower"):      # one stage per repeat (same layers)
            args = {k: v for k, v in b.items() if k != "name"}
            fs = geometric_filters(b["filters_init"], b.get("filters_end"), b.get("repeat", 1),
                                   b.get("divisible_by", 1), b.get("filters_mult"))
            for j, f in enumerate(fs):
                blocks.append((f"trunk[{i}] {b['name']}[{j}]",
                               {**args, "name": b["name"], "filters_init": f, "filters_end": None,
                                "filters_mult": None, "repeat": 1}))
        else:
            blocks.append((f"trunk[{i}] {b['name']}", b))
    blocks.append((f"head {net.spec['head']['name']}", net.spec["head"]))
    x, stages, seen = inputs, [], set()
    for label, block in blocks:
        stage_in = [x] + ([ctx.reprs[-1]] if block["name"] == "unet_conv" else [])
        x = net._block(x, ctx, block, globals_, label)
        whole = keras.Model(inputs, x)
        names = [l.name for l in whole.layers if l.name not in seen]
        seen.update(names)
        stages.append((label, keras.Model(stage_in, x) if stage_in[0] is not inputs else whole, names, whole))
    return stages


def time_calls(fn, x, steps: int) -> float:
    fn(x)
    ts = []
    for _ in range(steps):
        t = time.perf_counter()
        out = fn(x)
        np.asarray(out)
        ts.append(time.perf_counter() - t)
    return min(ts)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default=str(ROOT.parent / "shared/reference/params/shorkie_finetune.json"))
    ap.add_argument("--tracks", type=int, default=5215)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=5, help="timed calls per stage (the fastest is kept) [5]")
    ap.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                    help="spec override, e.g. model.trunk[1].dropout=0 (ablations: what a stage's time is spent on)")
    ap.add_argument("--stages", type=int, default=None, help="time only the first N stages")
    ap.add_argument("--ops", action="store_true",
                    help="also time each distinct Conv1D/Dense shape alone (what the ops reach at these shapes)")
    ap.add_argument("--json")
    args = ap.parse_args(argv)

    import tensorflow as tf
    from yeastzoi.model.params import apply_overrides
    spec = apply_overrides(json.loads(Path(args.spec).read_text()), args.set)["model"]
    peaks = [matmul_peak()]
    stages = build_stages(spec, args.tracks)
    full = stages[-1][3]
    rng = np.random.default_rng(0)
    x = tf.constant(np.eye(4, dtype=np.float32)[rng.integers(0, 4, (args.batch, full.input_shape[1]))])

    rows = []
    for label, m, names, whole in stages[:args.stages]:
        xs = [tf.random.normal((args.batch,) + tuple(t.shape[1:])) for t in m.inputs]
        first = m.inputs[0].shape[-1] == 4          # the sequence: no input gradient
        fwd = tf.function(lambda xs, m=m: tf.reduce_sum(m(xs, training=False)))

        def grad(xs, m=m, first=first):
            with tf.GradientTape() as tape:
                if not first:
                    tape.watch(xs)
                loss = tf.reduce_sum(m(xs, training=True))
            g = tape.gradient(loss, [[] if first else xs, m.trainable_weights])
            return loss + tf.add_n([tf.reduce_sum(v) for v in tf.nest.flatten(g) if v is not None])
        fb = tf.function(grad)
        tf_ = time_calls(fwd, xs, args.steps)
        tt = time_calls(fb, xs, args.steps)
        flops = sum(layer_flops(whole.get_layer(n)) for n in names) * args.batch
        rows.append(dict(stage=label, forward_s=tf_, train_s=tt, gflop=flops / 1e9))
        print(f"{label:28s} fwd {tf_:7.3f} s  fwd+bwd {tt:7.3f} s  {flops / 1e9:7.2f} GFLOP", flush=True)
    fwd = tf.function(lambda x: tf.reduce_sum(full(x, training=False)))
    whole_f = time_calls(fwd, x, args.steps) if args.stages is None else float("nan")
    peaks.append(matmul_peak())
    peak = statistics.median(peaks)
    total_gf = sum(r["gflop"] for r in rows)
    print(f"\nfp32 matmul peak {peak:.0f} GFLOP/s (measured {', '.join(f'{p:.0f}' for p in peaks)}); "
          f"batch {args.batch}, {args.tracks} tracks, forward {total_gf / args.batch:.2f} GFLOP/sequence")
    print(f"{'stage':28s} {'GFLOP':>7s} {'fwd s':>7s} {'fwd %pk':>8s} {'train s':>8s} {'train %pk':>9s} {'share':>6s}")
    tot_t = sum(r["train_s"] for r in rows)
    for r in rows:
        fp = r["gflop"] / r["forward_s"] / peak * 100 if r["forward_s"] > 0 else float("nan")
        tp = 3 * r["gflop"] / r["train_s"] / peak * 100 if r["train_s"] > 0 else float("nan")
        r.update(forward_pct_peak=fp, train_pct_peak=tp)
        print(f"{r['stage']:28s} {r['gflop']:7.2f} {r['forward_s']:7.3f} {fp:7.0f}% {r['train_s']:8.3f} "
              f"{tp:8.0f}% {r['train_s'] / tot_t * 100:5.0f}%")
    fwd_all, tr_all = sum(r["forward_s"] for r in rows), tot_t
    print(f"{'sum of stages':28s} {total_gf:7.2f} {fwd_all:7.3f} {total_gf / fwd_all / peak * 100:7.0f}% "
          f"{tr_all:8.3f} {3 * total_gf / tr_all / peak * 100:8.0f}%")
    if args.stages is None:
        print(f"whole model forward in one call: {whole_f:.3f} s ({total_gf / whole_f / peak * 100:.0f}% of peak)")
    ops = []
    if args.ops:
        ops, per_stage = op_ceilings(stages[:args.stages], args.batch, args.steps, peak)
        print(f"\n{'op alone (batch %d)' % args.batch:40s} {'GFLOP':>7s} {'fwd %pk':>8s} {'train %pk':>9s}")
        for o in ops:
            print(f"{o['op']:40s} {o['gflop']:7.2f} {o['forward_pct_peak']:7.0f}% {o['train_pct_peak']:8.0f}%")
        print("\nwhere each stage's time goes: its Conv1D/Dense ops timed alone vs the rest (element-wise "
              "work: norms, activations, residual adds, dropout, pooling, attention softmax, op boundaries)")
        print(f"{'stage':28s} {'fwd ops':>8s} {'fwd rest':>9s} {'train ops':>10s} {'train rest':>11s}")
        sums = [0.0, 0.0, 0.0, 0.0]
        for r in rows:
            fo, to = per_stage.get(r["stage"], (0.0, 0.0))
            r.update(forward_ops_s=fo, train_ops_s=to)
            vals = [fo, r["forward_s"] - fo, to, r["train_s"] - to]
            sums = [a + b for a, b in zip(sums, vals)]
            print(f"{r['stage']:28s} {vals[0]:8.3f} {vals[1]:9.3f} {vals[2]:10.3f} {vals[3]:11.3f}")
        print(f"{'sum':28s} {sums[0]:8.3f} {sums[1]:9.3f} {sums[2]:10.3f} {sums[3]:11.3f}   "
              f"(ops {sums[0] / (sums[0] + sums[1]) * 100:.0f} % of forward, "
              f"{sums[2] / (sums[2] + sums[3]) * 100:.0f} % of training)")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(peak_gflops=peak, peaks=peaks, batch=args.batch,
                                                   tracks=args.tracks, whole_forward_s=whole_f,
                                                   spec_overrides=args.set, rows=rows, ops=ops), indent=1))


if __name__ == "__main__":
    main()
