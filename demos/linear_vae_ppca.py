"""A linear Gaussian VAE converges to the probabilistic-PCA maximum likelihood (V7).

Data: 1,000 points in R^6 drawn from a pPCA model with q = 2 latent
dimensions (W with column scales 2 and 1, sigma^2 = 0.3). Reference: the
Tipping-Bishop closed-form maximum likelihood (``ppca_mle``), whose
log-likelihood is the best any linear-Gaussian model can reach. The VAE has
a linear encoder and decoder and one learned sigma^2; it is trained by
full-batch Adam on the Monte Carlo ELBO (one draw per point), the rate
lowered twice.

Prints the optimum, the VAE's exact ELBO and exact log-likelihood
(p(x) = N(b, W W^T + sigma^2 I) of its decoder) at the end, their gaps, the
principal angles between the decoder's columns and the principal subspace,
and sigma^2 against sigma^2_ML. Figure ``linear_vae_ppca.png``: the gap to
the optimum of both, per epoch, on a log scale.
"""
from __future__ import annotations

import numpy as np

from demos._common import parse_args, report, savefig
from dpm.models.ppca import ppca_log_likelihood, ppca_mle, principal_angles
from dpm.models.vae import VAE


def ppca_data(rng, n=1000, d=6, q=2):
    W = rng.normal(size=(d, q)) * np.array([2.0, 1.0])
    mu = rng.normal(size=d)
    return rng.normal(size=(n, q)) @ W.T + mu + np.sqrt(0.3) * rng.normal(size=(n, d))


def decoder_ppca(model):
    """(W, b, sigma2) of the VAE's linear decoder."""
    layer = model.decoder.layers[0]
    return layer.weight.data.T, layer.bias.data, float(np.exp(2 * model.log_scale_x.data[0]))


def exact_elbo(model, x):
    """E_q log N(x; W z + b, s^2 I) - KL(q || N(0, I)) in closed form (mean over points)."""
    W, b, s2 = decoder_ppca(model)
    guide = model.encode(x)
    m, v = guide.loc.data, guide.scale.data ** 2
    residual = x - m @ W.T - b
    expected = -0.5 * (x.shape[1] * np.log(2 * np.pi * s2)
                       + ((residual ** 2).sum(1) + (v * (W ** 2).sum(0)).sum(1)) / s2)
    return float(np.mean(expected - 0.5 * (v + m ** 2 - 1 - np.log(v)).sum(1)))


def main(argv=None):
    args = parse_args(argv, __doc__)
    rng = np.random.default_rng(args.seed)
    x = ppca_data(rng)
    W_ml, mu_ml, sigma2_ml = ppca_mle(x, 2)
    optimum = float(ppca_log_likelihood(x, W_ml, mu_ml, sigma2_ml).mean())
    model = VAE(6, 2, hidden=(), likelihood="gaussian", rng=np.random.default_rng(args.seed + 1))
    trace = {"elbo": [], "log_lik": []}

    def record(epoch, m):
        W, b, s2 = decoder_ppca(m)
        trace["elbo"].append(exact_elbo(m, x))
        trace["log_lik"].append(float(ppca_log_likelihood(x, W, b, s2).mean()))

    scale = 0.5 if args.quick else 2.0
    for lr, epochs in ((3e-2, 800), (3e-3, 500), (3e-4, 300)):
        model.fit(x, epochs=int(epochs * scale), batch_size=len(x), lr=lr, rng=rng,
                  progress=False, callback=record)
    W, b, s2 = decoder_ppca(model)
    angles = np.degrees(principal_angles(W, W_ml))
    report("ppca_max_log_likelihood", optimum, source="Tipping-Bishop closed form, nats/point")
    report("linear_vae_elbo", trace["elbo"][-1], source="exact Gaussian integrals")
    report("linear_vae_log_likelihood", trace["log_lik"][-1], source="N(b, W W^T + s^2 I)")
    report("linear_vae_elbo_gap", optimum - trace["elbo"][-1], source="nats/point, test: < 0.005")
    report("principal_angles_deg", angles, source="decoder columns vs principal subspace")
    report("sigma2_ratio", s2 / sigma2_ml, source="VAE sigma^2 / sigma^2_ML")
    plot(trace, optimum, args)
    return {"optimum": optimum, "elbo": trace["elbo"][-1], "log_lik": trace["log_lik"][-1],
            "angles_deg": angles.tolist(), "sigma2_ratio": s2 / sigma2_ml}


def plot(trace, optimum, args):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    epochs = np.arange(1, len(trace["elbo"]) + 1)
    ax.semilogy(epochs, np.maximum(optimum - np.array(trace["elbo"]), 1e-7), label="optimum - ELBO")
    ax.semilogy(epochs, np.maximum(optimum - np.array(trace["log_lik"]), 1e-7),
                label="optimum - log p(x) of the VAE's decoder")
    ax.set(xlabel="full-batch Adam step (rate lowered twice)",
           ylabel="gap to the pPCA maximum (nats per point)",
           title="Linear Gaussian VAE -> probabilistic PCA")
    ax.legend()
    return savefig(fig, args, "linear_vae_ppca")


if __name__ == "__main__":
    main()
