"""dpm: differentiable probabilistic models on minigrad.

The closed-form KL registry and the Monte Carlo helpers are imported here;
every other submodule (``dpm.distributions``, ``dpm.divergences``,
``dpm.quadrature``, ``dpm.wasserstein``, ``dpm.fitting``, ``dpm.landscape``,
``dpm.datasets``, ``dpm.models``, ``dpm.vi``, ``dpm.mcmc``) is imported on first use of
``dpm.<name>``, so ``import dpm`` stays quick and ``dpm.divergences.kl``
works without a separate import.
"""
import importlib

from dpm.kl import kl_divergence, register_kl  # noqa: F401
from dpm.montecarlo import expectation, pathwise_gradient, score_function_gradient  # noqa: F401

_SUBMODULES = ("datasets", "distributions", "divergences", "fitting", "generators", "kernels",
               "kl", "kr_critic", "landscape", "mcmc", "models", "montecarlo", "numerics",
               "quadrature", "vi", "wasserstein")


def __getattr__(name):
    # PEP 562: called only for names not found in the module's namespace.
    if name in _SUBMODULES:
        return importlib.import_module(f"dpm.{name}")
    raise AttributeError(f"module 'dpm' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))
