"""dpm: differentiable probabilistic models on minigrad."""
from dpm.kl import kl_divergence, register_kl  # noqa: F401
