"""Variational inference: the ELBO and its optimisation.

``mean_field``: coordinate ascent (CAVI) and the forward/reverse KL
factorized fits of a Gaussian (claims V2, V3).
"""
from dpm.vi.mean_field import (  # noqa: F401
    cavi, gaussian_cavi, gaussian_forward_kl, reverse_kl_sgd)
