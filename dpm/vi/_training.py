"""Checkpoints of a training loop: modules, optimizer state, the rng and the history.

One ``.npz`` archive, written atomically by ``minigrad.checkpoint.save_arrays``
(temporary file, then ``os.replace``) and read without pickle, holds:
``<module>.<parameter>`` for each module, ``optim.<i>.<key>`` for each
parameter's optimizer state (Adam's step, m, v), ``rng`` (the Generator's
bit-generator state as JSON text), ``step``, ``history`` and any extra
arrays (SVI's per-data-point parameters). Loading it back into the same
modules, optimizer and Generator makes a resumed run continue with exactly
the numbers an uninterrupted one would have produced.
"""
from __future__ import annotations

import json
import os

import numpy as np

from minigrad.checkpoint import load_arrays, save_arrays


def save_training(path, modules, optimizer, rng, step, history, extra=None):
    """Write the state after ``step`` steps; refuses non-finite parameters (no NaN checkpoint)."""
    arrays = {}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            if not np.all(np.isfinite(value)):
                raise FloatingPointError(f"not writing a checkpoint at step {step}: parameter "
                                         f"{name}.{key} is not finite")
            arrays[f"{name}.{key}"] = value
    for i, state in enumerate(optimizer.state):
        for key, value in state.items():
            arrays[f"optim.{i}.{key}"] = np.asarray(value)
    arrays["rng"] = np.array(json.dumps(rng.bit_generator.state))
    arrays["step"] = np.array(step)
    arrays["history"] = np.asarray(history, dtype=np.float64)
    for key, value in (extra or {}).items():
        arrays[f"extra.{key}"] = np.asarray(value)
    save_arrays(path, arrays)


def load_training(path, modules, optimizer, rng):
    """Restore a checkpoint in place; returns (step, history list, extra dict), or None if absent."""
    if path is None or not os.path.exists(path):
        return None
    arrays = load_arrays(path)
    for name, module in modules.items():
        prefix = f"{name}."
        module.load_state_dict({key[len(prefix):]: value for key, value in arrays.items()
                                if key.startswith(prefix)})
    for i, state in enumerate(optimizer.state):
        state.clear()
        prefix = f"optim.{i}."
        for key, value in arrays.items():
            if key.startswith(prefix):
                field = key[len(prefix):]
                state[field] = int(value) if field == "step" else value.copy()
    rng.bit_generator.state = json.loads(str(arrays["rng"]))
    extra = {key[len("extra."):]: value for key, value in arrays.items()
             if key.startswith("extra.")}
    return int(arrays["step"]), arrays["history"].tolist(), extra
