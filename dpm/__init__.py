"""dpm: differentiable probabilistic models on minigrad."""
from dpm.kl import kl_divergence, register_kl  # noqa: F401
from dpm.montecarlo import expectation, pathwise_gradient, score_function_gradient  # noqa: F401
