"""The lecture claims this project shows true, one line each in our own words.

The IDs are those of ``shared/CLAIMS.md`` (which keeps the lectures' own
sentences). A test carries a claim with ``@pytest.mark.claim("K3")``; an ID
not in ``CLAIMS`` makes that test fail, so a typo cannot hide a claim.
``python -m pytest --runslow --ledger ledger.md`` writes the ledger: every ID,
its tests and their outcomes, and the code and demo named below.

``CODE[id]`` lists the modules that compute a claim and ``DEMO[id]`` the demo
(a module of ``demos/``) that reproduces it; both are filled as the code
arrives, and ``test_ledger.py`` checks that every path and demo named exists.
"""

CLAIMS = {
    # A. Autodiff and numerics
    "A1": "Each primitive's reverse-mode gradient agrees with central finite differences in float64.",
    "A2": "Gradients of gradients (grad of grad, Hessian-vector products) agree with finite differences of the first-order gradient.",
    "A3": "logsumexp stays exact for huge, tiny and all -inf inputs, its gradient is softmax (0 at -inf entries), and the Numba kernel matches its NumPy twin.",
    "A4": "When inputs broadcast, each input's gradient is summed back to that input's own shape.",
    # M. Monte Carlo and distributions
    "M1": "A sample mean of f estimates E_P[f], with a standard error falling like 1/sqrt(N).",
    "M2": "Location-scale and inverse-CDF reparameterizations (Normal, Uniform, Exponential, Cauchy, Laplace) give the target law and the analytic pathwise gradient.",
    "M3": "Taking argmax of log-probabilities plus Gumbel noise draws from the categorical distribution.",
    "M4": "The Gumbel-softmax (Concrete) sample approaches one-hot as the temperature falls, and its pathwise gradient approaches the true one.",
    "M5": "A Gaussian mixture's log density is the logsumexp over components of log weight plus component log density.",
    "M6": "On the same objective, pathwise gradient estimates have far smaller variance than score-function (REINFORCE) estimates.",
    # K. Divergences
    "K1": "KL divergence is non-negative, zero exactly when the two laws agree, and not symmetric.",
    "K2": "KL is cross-entropy minus entropy; forward-KL fitting is maximum likelihood, which gives BCE, MSE, MAE and CE for Bernoulli, Normal, Laplace and categorical models.",
    "K3": "Univariate and multivariate Gaussian KL have closed forms (including against N(0, I)) that match Monte Carlo estimates.",
    "K4": "KL from a categorical q to the uniform over K outcomes is log K minus the entropy of q.",
    "K5": "Jensen-Shannon is the average KL of each law to their midpoint mixture; it is symmetric and at most log 2.",
    "K6": "The f-divergences (forward/reverse KL, Hellinger, total variation, Pearson and Neyman chi^2) computed here match closed forms or quadrature.",
    "K7": "Each divergence in the API asks for exactly what it needs: log-densities and/or samples of P and of Q.",
    "K8": "For laws on parallel segments {0} x U[0, 1] and {theta} x U[0, 1], KL is infinite both ways, JSD is log 2 and W1 is |theta|.",
    "K9": "Along a sequence of laws, KL tending to 0 forces JSD to 0, which forces the Wasserstein distance to 0.",
    # F. Fitting by divergence
    "F1": "Fitting a Normal by forward KL to N(-7.3, 3.2) from N(0, 1) ends near N(-7.28, 3.24).",
    "F2": "Forward KL to a symmetric two-mode mixture covers both modes: the fit has the mixture's mean and variance.",
    "F3": "Reverse KL to the same mixture picks one mode, near N(-7.02, 1.41) or N(7.01, 1.46) depending on where it starts.",
    "F4": "JSD fits depend on the start: a wide fit near N(-0.04, 48.20) from N(0, 1), the right mode from N(1, 1), the left from N(-1, 1).",
    "F5": "Loss surfaces over (mu, sigma) show forward KL avoiding zeros of q and reverse KL forcing them, with JSD in between.",
    # W. Wasserstein
    "W1": "Discrete optimal transport (EMD) is a linear program over couplings with fixed marginals, solved for the lecture's 3-by-4 example.",
    "W2": "Kantorovich-Rubinstein duality: a trained 1-Lipschitz critic's E_P f - E_Q f approaches the exact W1.",
    "W3": "W1 moves continuously with the shift theta where JSD jumps, so it provides gradients.",
    # G. GANs
    "G1": "For a fixed generator the best discriminator is p / (p + p_g), and a trained discriminator gets close to it.",
    "G2": "With the best discriminator the GAN value is 2 JSD - log 4, reaching -log 4 (and D* = 1/2) when the generator matches the data.",
    "G3": "When the discriminator rejects fakes, the non-saturating generator loss gives larger gradients than the minimax one.",
    "G4": "Alternating k discriminator steps and one generator step fits a 1-D and a 2-D target.",
    "G5": "On a many-mode target, mode collapse is measured as the number of modes the generator covers.",
    "G6": "WGAN with weight clipping and with a gradient penalty (second-order autodiff) trains; the least-squares GAN corresponds to Pearson chi^2.",
    "G7": "Likelihood and sample quality disagree: a tiny-bandwidth KDE scores poorly on test data, and mixing 1% of p with 99% noise costs at most log 100 nats.",
    "G8": "An Inception-style score exp(E KL(p(y|x) || p(y))) computed with a classifier trained on the shipped digits.",
    # V. Variational inference and VAEs
    "V1": "The ELBO is below log p(x) by exactly KL(q || posterior), with equality at the true posterior.",
    "V2": "Mean-field coordinate ascent on a correlated bivariate Gaussian converges to factors with variance 1/Lambda_jj (0.19 in the lecture's example).",
    "V3": "Minimising forward KL with a factorized q gives the true marginals (variance 1 in the example): reverse KL under-covers, forward KL covers.",
    "V4": "Variational Bayesian linear regression with a Gamma prior on the noise precision raises its bound every step and agrees with the exact posterior by quadrature.",
    "V5": "Per-datapoint SVI and amortized inference with an encoder both raise the ELBO, and amortized comes close to per-datapoint.",
    "V6": "VAEs with Gaussian and Bernoulli decoders train on the digits; the analytic KL term equals its Monte Carlo estimate.",
    "V7": "A linear Gaussian VAE at convergence reaches the exact probabilistic-PCA log-likelihood.",
    "V8": "Importance-weighted bounds rise with k from the ELBO (k = 1) towards log p(x).",
    "V9": "The average per-point KL to the prior splits into KL(aggregate posterior || prior) plus the mutual information between x and z.",
    "V10": "A VAE with a flow prior uses log p(f(z)) + log|det J| in its ELBO.",
    "V11": "Discrete latents train by Gumbel-softmax, and vector quantization trains with straight-through gradients.",
    "V12": "Bernoulli mean-field over missing pixels (image completion) raises the ELBO at each update.",
    # N. Normalizing flows
    "N1": "Change of variables: y = 2x + 1 with x ~ U(0, 1) has density 1/2 on [1, 3].",
    "N2": "Every flow layer inverts exactly and reports a log|det J| equal to that of its numerical Jacobian.",
    "N3": "NICE, RealNVP, planar, MAF and IAF layers have triangular (or rank-one) Jacobians whose log-determinants cost O(D).",
    "N4": "A flow fitted by maximum likelihood on a 2-D target has a density integrating to 1 and a higher likelihood than one Gaussian.",
    # R. Autoregressive models
    "R1": "A masked (MADE-style) autoregressive model gives exact log-likelihoods whose probabilities sum to 1 over all binary inputs for small D.",
    "R2": "An autoregressive model trains by teacher forcing and samples pixel by pixel on the binarized digits.",
    # E. EM and MCMC
    "E1": "EM for a Gaussian mixture never decreases the log-likelihood.",
    "E2": "Metropolis-Hastings, Gibbs, HMC and NUTS reproduce a known target's moments within Monte Carlo error based on effective sample size.",
}

CODE = {
    "A1": ["minigrad/ops/", "minigrad/gradcheck.py"],
    "A2": ["minigrad/autodiff.py", "minigrad/gradcheck.py"],
    "A3": ["minigrad/ops/reductions.py", "minigrad/kernels/"],
    "A4": ["minigrad/autodiff.py", "minigrad/ops/shape.py"],
    "M1": ["dpm/montecarlo.py"],
    "M2": ["dpm/distributions/normal.py", "dpm/distributions/uniform.py",
           "dpm/distributions/exponential.py", "dpm/distributions/cauchy.py",
           "dpm/distributions/laplace.py", "dpm/distributions/gumbel.py",
           "dpm/distributions/multivariate_normal.py"],
    "M3": ["dpm/distributions/relaxed.py", "dpm/distributions/categorical.py"],
    "M4": ["dpm/distributions/relaxed.py"],
    "M5": ["dpm/distributions/mixture.py", "dpm/_mixture_kernels.py"],
    "M6": ["dpm/montecarlo.py"],
    "K1": ["dpm/kl.py"],
    "K2": ["dpm/kl.py"],
    "K3": ["dpm/kl.py"],
    "K4": ["dpm/kl.py"],
    "K5": ["dpm/divergences.py", "dpm/quadrature.py"],
    "K6": ["dpm/divergences.py", "dpm/quadrature.py"],
    "K7": ["dpm/divergences.py"],
    "K8": ["dpm/datasets.py", "dpm/divergences.py", "dpm/wasserstein.py"],
    "K9": ["dpm/quadrature.py", "dpm/wasserstein.py"],
    "F1": ["dpm/fitting.py", "dpm/divergences.py"],
    "F2": ["dpm/fitting.py", "dpm/divergences.py"],
    "F3": ["dpm/fitting.py", "dpm/divergences.py"],
    "F4": ["dpm/fitting.py", "dpm/divergences.py"],
    "F5": ["dpm/landscape.py", "dpm/_landscape_kernels.py", "dpm/quadrature.py"],
    "W1": ["dpm/wasserstein.py"],
    "W2": ["dpm/_kr_critic.py", "dpm/wasserstein.py"],
    "W3": ["dpm/wasserstein.py"],
    "G1": ["dpm/models/gan.py"],
    "G2": ["dpm/models/gan.py"],
    "V2": ["dpm/vi/mean_field.py"],
    "V3": ["dpm/vi/mean_field.py"],
    "N1": ["dpm/distributions/transformed.py"],
    "V6": ["dpm/models/vae.py", "dpm/models/vae_training.py", "dpm/datasets.py"],
    "V7": ["dpm/models/ppca.py", "dpm/models/vae.py"],
    "V10": ["dpm/models/vae_priors.py", "dpm/models/vae.py"],
    "V11": ["dpm/models/vq.py", "dpm/models/discrete_vae.py"],
}

DEMO = {
    "A1": "gradient_check",
    "M2": "reparameterization",
    "M3": "gumbel_softmax",
    "M4": "gumbel_softmax",
    "M6": "reparameterization",
    "K8": "disjoint_supports",
    "K9": "convergence_hierarchy",
    "F1": "fitting",
    "F2": "fitting",
    "F3": "fitting",
    "F4": "fitting",
    "F5": "landscapes",
    "W2": "wasserstein_critic",
    "G1": "gan_optimum",
    "G2": "gan_optimum",
    "V2": "mean_field",
    "V3": "mean_field",
    "V6": "vae_digits",
    "V7": "linear_vae_ppca",
    "V10": "vae_flow_prior",
    "V11": "discrete_latents",
}
