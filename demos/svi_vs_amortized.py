"""Per-data-point SVI against amortized inference on binarized digits (V5).

Lecture 003 ("Learning via stochastic variational inference", "Amortization"):
a one-layer decoder z ~ N(0, I_4), x | z ~ Bern(sigmoid(z W + b)) on the
8 x 8 digits binarized at 8 (the fixed split of ``load_digits``: 1,437 train,
360 held out).
- SVI: one (mu_i, log sigma_i) per digit, raised by an inner loop of Adam
  steps on a mini-batch, then one theta step (the lecture's algorithm).
- Amortized: an encoder MLP 64-64-8 gives (mu, log sigma) for every x,
  trained jointly with its own decoder.
Both raise the ELBO. On the amortized theta, per-point optimisation started
from the encoder's output gives the amortization gap (>= 0).

Figure ``svi_vs_amortized.png``: batch ELBO per step for both (smoothed),
and the held-out ELBO per digit, optimised vs amortized.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from dpm.datasets import load_digits
from dpm.distributions import DiagonalNormal
from dpm.vi.elbo import _log_weights
from dpm.vi.svi import (BernoulliDecoder, GaussianEncoder, amortization_gap, amortized,
                        evaluate, optimize_local, svi)
from demos._common import parse_args, report, savefig

Z_DIM = 4


def split():
    """(train, held out): the fixed split of ``load_digits``, binarized at 8."""
    return (load_digits(binarize=True, split="train")[0],
            load_digits(binarize=True, split="test")[0])


def smooth(values, width=20):
    values = np.asarray(values)
    return np.convolve(values, np.ones(width) / width, mode="valid")


def plot(svi_history, amortized_history, local, amort, args):
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(smooth(svi_history), label="SVI (per-point phi, inner loop)")
    left.plot(smooth(amortized_history), label="amortized (encoder)")
    left.set(xlabel="theta step", ylabel="batch ELBO (nats per digit, 20-step mean)",
             title="Both raise the ELBO")
    left.legend(fontsize=8)
    right.hist(local - amort, bins=30, color="C2")
    right.set(xlabel="per-point ELBO - amortized ELBO (nats)", ylabel="held-out digits",
              title=f"Amortization gap: mean {np.mean(local - amort):.3f} nats")
    return savefig(fig, args, "svi_vs_amortized")


def main(argv=None):
    args = parse_args(argv, __doc__)
    rng = np.random.default_rng(args.seed)
    train, held = split()
    held = held[:100] if args.quick else held
    steps = 60 if args.quick else 600
    decoder = BernoulliDecoder(64, Z_DIM, rng=rng)
    _, _, svi_history = svi(decoder, train, steps, rng, inner_steps=8 if args.quick else 15)
    start = np.zeros((len(held), Z_DIM))
    svi_elbo = evaluate(decoder, held, *optimize_local(decoder, held, start, start, 100, 0.1, rng),
                        32, rng)
    amortized_decoder = BernoulliDecoder(64, Z_DIM, rng=rng)
    encoder = GaussianEncoder(64, Z_DIM, rng=rng)
    amortized_history = amortized(amortized_decoder, encoder, train, 3 * steps, rng)
    gap, local, amort = amortization_gap(amortized_decoder, encoder, held, rng,
                                         inner_steps=60 if args.quick else 300)
    report("svi_batch_elbo_first_last", (np.mean(svi_history[:10]), np.mean(svi_history[-10:])),
           source="nats per digit, 10-step means")
    report("amortized_batch_elbo_first_last",
           (np.mean(amortized_history[:10]), np.mean(amortized_history[-10:])))
    report("svi_held_out_elbo", float(svi_elbo.data), source=f"+- {svi_elbo.stderr:.2g}, "
           "phi optimised per digit")
    report("amortized_held_out_elbo", float(amort.data), source=f"+- {amort.stderr:.2g}")
    report("amortization_gap", float(gap.data), lecture=">= 0",
           source=f"+- {gap.stderr:.2g}, same theta, common random numbers")
    with mg.no_grad():
        q = encoder(held)
    per_local = evaluate_per_point(amortized_decoder, held, local, q, rng)
    plot(svi_history, amortized_history, *per_local, args)
    return {"svi_held_out_elbo": float(svi_elbo.data), "amortized_held_out_elbo": float(amort.data),
            "amortization_gap": float(gap.data), "gap_stderr": gap.stderr}


def evaluate_per_point(decoder, held, local, q, rng):
    """Per-digit ELBOs (optimised from the encoder, and amortized), common draws, for the plot."""
    loc, log_scale = optimize_local(decoder, held, q.loc.data, np.log(q.scale.data), 60, 0.05,
                                    rng, n=4)
    per = []
    for mean, log_sd in ((loc, log_scale), (q.loc.data, np.log(q.scale.data))):
        with mg.no_grad():
            log_w = _log_weights(decoder.log_joint(held), DiagonalNormal(mean, np.exp(log_sd)),
                                 (32,), np.random.default_rng(7))[0]
        per.append(log_w.data.mean(axis=0))
    return per


if __name__ == "__main__":
    main()
