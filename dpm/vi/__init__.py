"""Variational inference: the ELBO and its optimisation.

``elbo``: the ELBO, IWAE_k and importance-sampled log-evidence as Estimates
per data point (claims V1, V8). ``mean_field``: coordinate ascent (CAVI) and
the forward/reverse KL factorized fits of a Gaussian (V2, V3).
``linear_regression``: VB linear regression, Bishop 10.3 (V4). ``svi``:
per-data-point SVI and amortized inference (V5). ``surgery``: the split of
the average KL into KL(q_agg || p) + I_q[x, z] (V9). ``completion``: the
Bernoulli mean-field over missing pixels (V12).
"""
from dpm.vi.mean_field import (  # noqa: F401
    cavi, gaussian_cavi, gaussian_forward_kl, reverse_kl_sgd)
from dpm.vi.elbo import elbo, iwae, log_evidence, log_mean_exp  # noqa: F401
from dpm.vi.linear_regression import VBLinearRegression, exact_posterior  # noqa: F401
from dpm.vi.surgery import elbo_surgery  # noqa: F401
from dpm.vi.svi import amortization_gap, amortized, svi  # noqa: F401
from dpm.vi.completion import complete, complete_score_function, pixel_elbo  # noqa: F401
