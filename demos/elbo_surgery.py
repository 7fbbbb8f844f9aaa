"""ELBO surgery on digits: average KL to the prior = KL(q_agg || p) + I_q[x, z] (V9).

Hoffman and Johnson (2016), lecture 004's reading of the ELBO's KL term: for
an encoder q(z | x) on N data points, with q_agg(z) = (1/N) sum_i q(z | x_i),

    (1/N) sum_i KL(q(z | x_i) || p(z)) = KL(q_agg || p) + I_q[x, z],   0 <= I_q <= log N.

An amortized encoder and decoder (``dpm.vi.svi``, z in 4-D, binarized 8 x 8
digits) are trained; on N training digits the three terms are estimated
(q_agg's density exact: a logsumexp over the N encoder densities), each with
a standard error. The closed-form average KL (Gaussian to N(0, I)) checks
the Monte Carlo one. The split says how much of the KL the code spends on
saying which digit it came from (I_q, at most log N) and how much on the
aggregate posterior missing the prior.

Figure ``elbo_surgery.png``: the three terms with 2-s.e. bars and log N;
the encoder means of the N digits against the prior's 1- and 2-sd circles.
"""
from __future__ import annotations

import numpy as np

import minigrad as mg
from dpm.datasets import load_digits
from dpm.distributions import DiagonalNormal
from dpm.vi.surgery import elbo_surgery
from dpm.vi.svi import BernoulliDecoder, GaussianEncoder, amortized
from demos._common import parse_args, report, savefig

Z_DIM = 4


def plot(terms, log_n, q, labels, args):
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    names = ["average KL", "KL(q_agg || p)", "I_q[x, z]"]
    left.bar(names, [float(t.data) for t in terms], yerr=[2 * t.stderr for t in terms],
             color=["C0", "C1", "C2"], capsize=4)
    left.axhline(log_n, color="k", ls="--", label=f"log N = {log_n:.2f} (ceiling of I_q)")
    left.set(ylabel="nats", title="ELBO surgery: average KL = KL(q_agg || p) + I_q")
    left.legend(fontsize=8)
    angle = np.linspace(0, 2 * np.pi, 200)
    for r in (1, 2):
        right.plot(r * np.cos(angle), r * np.sin(angle), color="grey", lw=1)
    points = right.scatter(q[:, 0], q[:, 1], c=labels, cmap="tab10", s=8)
    right.set(xlabel="z_1 (encoder mean)", ylabel="z_2", aspect="equal",
              title="Encoder means; circles: prior 1 and 2 sd")
    fig.colorbar(points, ax=right, label="digit")
    return savefig(fig, args, "elbo_surgery")


def main(argv=None):
    args = parse_args(argv, __doc__)
    rng = np.random.default_rng(args.seed)
    x, y = load_digits(binarize=True)
    order = rng.permutation(len(x))
    train, labels = x[order[:1400]], y[order[:1400]]
    decoder, encoder = BernoulliDecoder(64, Z_DIM, rng=rng), GaussianEncoder(64, Z_DIM, rng=rng)
    amortized(decoder, encoder, train, 200 if args.quick else 2000, rng)
    n_points = 300 if args.quick else 1000
    with mg.no_grad():
        q = encoder(train[:n_points])
    guide = DiagonalNormal(q.loc.data, q.scale.data)
    prior = DiagonalNormal(np.zeros(Z_DIM), np.ones(Z_DIM))
    terms = elbo_surgery(guide, prior, n=8 if args.quick else 32, rng=rng)
    loc, scale = q.loc.data, q.scale.data
    closed = np.mean(np.sum(-np.log(scale) + (scale ** 2 + loc ** 2) / 2 - 0.5, axis=1))
    log_n = float(np.log(n_points))
    for name, term in zip(("average_kl", "aggregate_kl", "mutual_information"), terms):
        report(name, float(term.data), source=f"+- {term.stderr:.2g} (1 s.e.), nats")
    report("average_kl_closed_form", closed, source="sum of Gaussian KLs to N(0, I)")
    report("sum_of_parts_minus_closed_form",
           float(terms.aggregate_kl.data + terms.mutual_information.data) - closed,
           lecture="0", source=f"+- {terms.average_kl.stderr:.2g}")
    report("log_N", log_n, source="ceiling of I_q[x, z]")
    plot(terms, log_n, loc, labels[:n_points], args)
    return {"average_kl": float(terms.average_kl.data), "closed_form": closed,
            "aggregate_kl": float(terms.aggregate_kl.data),
            "mutual_information": float(terms.mutual_information.data), "log_N": log_n}


if __name__ == "__main__":
    main()
