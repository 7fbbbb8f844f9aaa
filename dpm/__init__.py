"""dpm: differentiable probabilistic models on minigrad."""
