"""Image completion: a Bernoulli mean-field over the hidden top half of a digit (V12).

Lecture 003 ("A variational approximation to the posterior"): z = the top
half of an 8 x 8 binarized digit is unobserved, x = the bottom half is seen,
q(z; phi) = prod_i phi_i^{z_i} (1 - phi_i)^{1 - z_i}. The model p(z, x) is a
mixture of 20 products of Bernoullis fitted by EM to the 1,437 training digits
(``load_digits(split="train")``; held out: the 360 of ``split="test"``),
so log p(x) (the bottom half's evidence) is exact. On held-out digits:
- the bound raised by coordinate ascent (the label k in the mean-field too)
  rises at every update and stays below log p(x);
- the score-function ascent on ELBO(phi) itself (dpm.vi.elbo's REINFORCE,
  leave-one-out baseline) also climbs;
- the completion's pixel error against the prior-only fill (every hidden
  pixel at its marginal under the model, ignoring x).

Figure ``image_completion.png``: observed bottom halves, completions phi,
and the truth, for 10 held-out digits; the bound per update.
"""
from __future__ import annotations

import numpy as np

from dpm.datasets import load_digits
from dpm.models.gmm_em import fit_bernoulli_mixture
from dpm.vi.completion import complete, complete_score_function
from demos._common import parse_args, report, savefig

HIDDEN = np.arange(64) < 32            # the top four rows


def plot(test, result, history_sf, args):
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(12, 5))
    shown = 10
    for i in range(shown):
        observed = np.where(HIDDEN, 0.5, test[i]).reshape(8, 8)
        for row, (image, title) in enumerate(((observed, "observed (grey: hidden)"),
                                              (result.probs[i].reshape(8, 8), "completion phi"),
                                              (test[i].reshape(8, 8), "truth"))):
            ax = fig.add_subplot(3, shown + 4, row * (shown + 4) + i + 1)
            ax.imshow(image, cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(title, fontsize=7)
    ax = fig.add_axes([0.72, 0.15, 0.26, 0.7])
    ax.plot(result.history.mean(axis=1), "o-", ms=3, label="coordinate ascent bound L")
    ax.plot(np.arange(len(history_sf)) * (len(result.history) - 1) / max(1, len(history_sf) - 1),
            history_sf, color="C1", label="score-function ELBO (rescaled steps)")
    ax.axhline(result.log_evidence.mean(), color="k", ls="--", label="exact log p(x)")
    ax.set(xlabel="update", ylabel="mean over digits (nats)", title="Bounds rise below log p(x)")
    ax.legend(fontsize=7)
    return savefig(fig, args, "image_completion")


def main(argv=None):
    args = parse_args(argv, __doc__)
    rng = np.random.default_rng(args.seed)
    train, _ = load_digits(binarize=True, split="train")
    test, _ = load_digits(binarize=True, split="test")
    mixture = fit_bernoulli_mixture(train, 20, rng, iters=40 if args.quick else 200)
    result = complete(mixture, test, ~HIDDEN, iters=10)
    steps = np.diff(result.history, axis=0)
    report("bound_rises_every_update", bool(np.all(steps >= -1e-12 * np.abs(result.history[1:]))),
           source=f"{steps.shape[0]} updates x {len(test)} digits")
    report("bound_start_end", (result.history[0].mean(), result.history[-1].mean()),
           source="nats, mean over held-out digits")
    report("log_p_observed", result.log_evidence.mean(), source="exact, EM Bernoulli mixture")
    report("bound_below_evidence", bool(np.all(result.history[-1] <= result.log_evidence)))
    truth = test[:, HIDDEN]
    wrong = (result.probs[:, HIDDEN] > 0.5) != truth
    prior_fill = (mixture.weights @ mixture.probs)[HIDDEN] > 0.5
    prior_wrong = prior_fill[None] != truth
    diff = prior_wrong.mean(axis=1) - wrong.mean(axis=1)
    report("completion_pixel_error", wrong.mean(), source="hidden top half, held out")
    report("prior_fill_pixel_error", prior_wrong.mean(),
           source=f"improvement {diff.mean():.3f} +- {diff.std(ddof=1) / np.sqrt(len(diff)):.1g}")
    count = 20 if args.quick else 100
    _, trace = complete_score_function(mixture, test[:count], ~HIDDEN,
                                       steps=40 if args.quick else 200, rng=rng)
    history_sf = [float(t.data.mean()) for t in trace]
    report("score_function_elbo_first_last", (history_sf[0], history_sf[-1]),
           source=f"first {count} digits; their L = {result.history[-1][:count].mean():.3f}")
    plot(test, result, history_sf, args)
    return {"completion_error": float(wrong.mean()), "prior_error": float(prior_wrong.mean()),
            "bound": result.history.mean(axis=1).tolist(),
            "log_evidence": float(result.log_evidence.mean())}


if __name__ == "__main__":
    main()
