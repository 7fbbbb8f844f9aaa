"""Normalizing flows, one layer family a file (lecture 002; claims N2, N3, N4).

``base``: the layer interface and ``Flow(base, layers)``; ``coupling``: NICE
additive and RealNVP affine couplings; ``planar``: planar and radial flows;
``maf``: MAF and IAF on MADE masks; ``permutation`` and ``actnorm``: the
glue between them. Every layer is ``Layer(dim, rng=rng)``, a Transform with
``forward(x) -> (y, log_det)`` and ``inverse(y) -> (x, log_det)`` and a
``minigrad.nn.Module``. ``stacks``: ready-made
``realnvp_flow``, ``maf_flow`` and ``planar_flow``.
"""
from dpm.models.flows.base import Flow, FlowLayer  # noqa: F401
from dpm.models.flows.coupling import AdditiveCoupling, AffineCoupling  # noqa: F401
from dpm.models.flows.planar import Planar, Radial  # noqa: F401
from dpm.models.flows.maf import IAF, MAF  # noqa: F401
from dpm.models.flows.permutation import Permutation  # noqa: F401
from dpm.models.flows.actnorm import ActNorm  # noqa: F401
from dpm.models.flows.stacks import (  # noqa: F401
    iaf_flow, maf_flow, planar_flow, realnvp_flow, standard_normal)  # noqa: F401

LAYERS = (AdditiveCoupling, AffineCoupling, Planar, Radial, MAF, IAF, Permutation, ActNorm)
from dpm.models.flows.fit import FitHistory, fit_max_likelihood, mean_nll  # noqa: E402, F401
from dpm.models.flows.evaluate import GridIntegral, best_gaussian, grid_integral  # noqa: E402, F401
