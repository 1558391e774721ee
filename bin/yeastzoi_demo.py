#!/usr/bin/env python3
"""The main job on the embedded default data: real R64 genome, SIMULATED tracks, tiny LM
pretraining, fine-tuning vs scratch, evaluation, variant scoring against the simulator's
truth, LM conservation and attention → OUT/report.html. Rerunning reuses finished steps.

  yeastzoi_demo.py -o demo_out
  yeastzoi_demo.py -o /tmp/quick --quick     # a few-minute smoke run on chrI-chrIII
"""
from yeastzoi import cli


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument("-o", "--out", default="demo_out", help="output folder [demo_out]")
    ap.add_argument("--quick", action="store_true",
                    help="tiny budgets on chrI-chrIII only (a smoke test of the whole pipeline)")
    args = ap.parse_args(argv)
    cli.setup_logging(args)
    from yeastzoi.plots import demo as demo

    budget = demo.QUICK if args.quick else demo.Budget()
    records = demo.run_steps(args.out, budget, simulate_chroms="chrI,chrII,chrIII" if args.quick else None)
    path = demo.build_report(args.out, records)
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    cli.run(main)
