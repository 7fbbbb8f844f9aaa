"""Vector quantization with straight-through gradients (van den Oord et al. 2017, VQ-VAE): V11.

A codebook e_1..e_K in R^D replaces each encoder output z_e by its nearest code

    k(z_e) = argmin_k ||z_e - e_k||^2,     z_q = e_{k(z_e)}.

The argmin has no useful derivative, so the decoder's gradient is copied
straight through: dL/dz_e is taken to be dL/dz_q (the value is exactly z_q;
the graph is z_q + (z_e - stop(z_e)), whose derivative in z_e is the identity).
Two extra terms train the codebook and keep the encoder near it, averaged
over the N quantized vectors:

    codebook loss   = (1/N) sum_i ||stop(z_e,i) - e_k(i)||^2     (moves codes to their outputs)
    commitment loss = (1/N) sum_i ||z_e,i - stop(e_k(i))||^2     (weighted by beta, default 0.25)

Codebook usage is reported as the perplexity exp(H(p)) of the code
frequencies p_k in a batch: K when all codes are used equally, 1 when one is.

Dead codes. A code that no encoder output selects gets no gradient from
either loss and never moves again. ``usage`` counts how often each code was
chosen since the last ``reset_dead_codes(z_e, rng)``, which moves every
unused code onto a randomly drawn row of the given encoder outputs (the
restart of Dhariwal et al. 2020, Jukebox) and clears the counts; call it
every few hundred steps. Nothing is reset automatically.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minigrad import Tensor, as_tensor, nn
from dpm.distributions.base import resolve_rng


@dataclass
class Quantized:
    """The result of ``VectorQuantizer(z_e)``."""
    z_q: Tensor               # the codes, with the straight-through gradient to z_e
    indices: np.ndarray       # k(z_e) of shape z_e.shape[:-1]
    codebook_loss: Tensor
    commitment_loss: Tensor
    loss: Tensor              # codebook_loss + beta * commitment_loss
    perplexity: float


def perplexity(indices, num_codes):
    """exp(-sum_k p_k log p_k) of the code frequencies p_k in ``indices`` (0 log 0 = 0)."""
    counts = np.bincount(np.ravel(indices), minlength=num_codes).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(np.exp(-np.sum(p * np.log(p))))


class VectorQuantizer(nn.Module):
    """K codes of dimension D, initialised from U(-1/K, 1/K) with ``rng`` (as in VQ-VAE)."""

    def __init__(self, num_codes, dim, beta=0.25, rng=None, dtype=np.float64):
        for name, value in (("num_codes", num_codes), ("dim", dim)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not (np.isfinite(beta) and beta >= 0):
            raise ValueError(f"beta must be a finite number >= 0, got {beta!r}")
        self.num_codes, self.dim, self.beta = int(num_codes), int(dim), float(beta)
        rng = resolve_rng(rng)
        bound = 1.0 / self.num_codes
        self.codebook = Tensor(rng.uniform(-bound, bound, (self.num_codes, self.dim))
                               .astype(dtype), requires_grad=True)
        self.usage = np.zeros(self.num_codes, dtype=np.int64)

    def nearest(self, z_e):
        """k(z_e): the index of the nearest code for each vector of z_e (..., D), an int array.

        ||z - e||^2 = ||z||^2 - 2 z.e + ||e||^2; ties go to the lowest index.
        """
        z = np.asarray(getattr(z_e, "data", z_e))
        if z.ndim < 1 or z.shape[-1] != self.dim:
            raise ValueError(f"z_e must have shape (..., {self.dim}) (dim), got {z.shape}")
        codes = self.codebook.data
        distances = ((z * z).sum(-1, keepdims=True) - 2.0 * z @ codes.T
                     + (codes * codes).sum(-1))
        return np.argmin(distances, axis=-1)

    def forward(self, z_e):
        z_e = as_tensor(z_e)
        indices = self.nearest(z_e)
        if self.training:
            self.usage += np.bincount(indices.ravel(), minlength=self.num_codes)
        codes = self.codebook[indices]                     # gradient flows to the codebook rows
        per_vector = lambda diff: (diff * diff).sum(axis=-1).mean()  # noqa: E731
        codebook_loss = per_vector(z_e.detach() - codes)
        commitment_loss = per_vector(z_e - codes.detach())
        # value exactly the codes; derivative in z_e the identity (straight through)
        z_q = codes.detach() + (z_e - z_e.detach())
        return Quantized(z_q, indices, codebook_loss, commitment_loss,
                         codebook_loss + commitment_loss * self.beta,
                         perplexity(indices, self.num_codes))

    def dead_codes(self):
        """Indices of the codes not chosen since the last reset."""
        return np.flatnonzero(self.usage == 0)

    def reset_dead_codes(self, z_e, rng=None):
        """Move each dead code onto a random row of z_e (..., D); returns the indices reset."""
        rng = resolve_rng(rng)
        rows = np.asarray(getattr(z_e, "data", z_e)).reshape(-1, self.dim)
        dead = self.dead_codes()
        if dead.size:
            self.codebook.data[dead] = rows[rng.integers(0, len(rows), dead.size)]
        self.usage[:] = 0
        return dead

    def __repr__(self):
        return f"VectorQuantizer(num_codes={self.num_codes}, dim={self.dim}, beta={self.beta})"
