#!/usr/bin/env python3
"""Build a model from a params.json and summarise it: blocks, output shape per stage,
total and trainable parameters; with --restore, the load report.

  yeastzoi_model.py json_params/shorkie_lm.json --num-features 170
  yeastzoi_model.py json_params/tiny.json --restore train_out/model_best.h5 --trunk
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from yeastzoi import cli  # noqa: E402


def main(argv=None):
    ap = cli.parser(__doc__)
    cli.add_params_arguments(ap)
    ap.add_argument("--num-features", type=int, range=(1, None), default=None,
                    help="input channels (4 DNA [+ 1 mask + species]); default: the spec's, else 4")
    ap.add_argument("--restore", help="weights to load (.h5 baskerville/yeastzoi, or .keras)")
    ap.add_argument("--trunk", action="store_true", help="restore the trunk only (skip head mismatches)")
    args = ap.parse_args(argv)
    cli.check_inputs(args, "params", "restore")  # before TensorFlow loads
    cli.setup_logging(args)
    from yeastzoi.model.loader import read_meta
    from yeastzoi.model.seqnn import SeqNN

    params = cli.load_params_arg(args)
    nf = args.num_features
    if nf is None and args.restore:
        nf = (read_meta(args.restore) or {}).get("num_features")
    seqnn = SeqNN(params["model"], num_features=nf)
    print(f"{args.params}: input (None, {seqnn.seq_length}, {seqnn.num_features})")
    for name, shape in seqnn.stage_shapes():
        print(f"  {name:<34} -> {shape}")
    print(f"total parameters     {seqnn.num_params:,}")
    print(f"trainable parameters {seqnn.num_trainable:,}")
    m = seqnn.meta
    print(f"output: {m['target_length']} positions x {m['num_targets']} tracks, "
          f"{m['pool_width']} bp per position, crop {m['crop_bp']} bp each side")
    if args.restore:
        report = seqnn.restore(args.restore, trunk=args.trunk)
        print("\n".join(report.lines()))
    return 0


if __name__ == "__main__":
    cli.run(main)
