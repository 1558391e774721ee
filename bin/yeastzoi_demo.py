#!/usr/bin/env python3
"""The main job on the embedded default data: the real R64 genome and SIMULATED tracks; the
shipped models applied (r64_lm: masked-LM evaluation on the R64 test chromosomes beside
k-mer and Markov baselines, conservation at JASPAR motif matches and around RPL5, attention;
r64_sim_tracks: variant scores against the simulator's truth, the RPL5 locus); a short live
fine-tune from r64_lm beside the same spec trained from scratch → OUT/report.html, which
keeps the REAL-DATA and SIMULATED results apart. Rerunning reuses finished steps.

  yeastzoi_demo.py -o demo_out
  yeastzoi_demo.py -o /tmp/quick --quick     # a few-minute smoke run on chrI-chrIII
  yeastzoi_demo.py -o demo_out --epochs 8 --steps 50     # longer live runs
"""
from yeastzoi import cli


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument("-o", "--out", default="demo_out", help="output folder [demo_out]")
    ap.add_argument("--quick", action="store_true",
                    help="tiny budgets on chrI-chrIII only (a smoke test of the whole pipeline)")
    ap.add_argument("--epochs", type=int, range=(1, None), help="live runs: epochs [4; --quick 1]")
    ap.add_argument("--steps", type=int, range=(1, None), help="live runs: batches per epoch [25; --quick 2]")
    ap.add_argument("--only", help="comma-separated step names to run (the others are left alone)")
    args = ap.parse_args(argv)
    cli.setup_logging(args)
    import dataclasses

    from yeastzoi import YeastzoiError
    from yeastzoi.plots import demo, demo_report

    budget = demo.QUICK if args.quick else demo.Budget()
    for name, value in (("track_epochs", args.epochs), ("track_steps", args.steps)):
        if value is not None:
            if value < 1:
                raise YeastzoiError(f"--{'epochs' if name == 'track_epochs' else 'steps'} must be >= 1, got {value}")
            budget = dataclasses.replace(budget, **{name: value})
    only = [s for s in (args.only or "").split(",") if s] or None
    known = [s.name for s in demo.plan(args.out, budget)]
    if only and set(only) - set(known):
        raise YeastzoiError(f"--only {args.only}: unknown step(s); the steps are {', '.join(known)}")
    records = demo.run_steps(args.out, budget, simulate_chroms="chrI,chrII,chrIII" if args.quick else None,
                             only=only)
    path = demo_report.build_report(args.out, records)
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    cli.run(main)
