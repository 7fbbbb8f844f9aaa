"""The GAN training algorithm: k discriminator steps per generator step (G4, G5, G6).

Goodfellow et al. (2014), Algorithm 1, for any loss of ``losses.py``:

    for each training iteration:
        for k steps:
            draw m noise samples z_1..z_m and m data points x_1..x_m
            update D by one optimiser step on discriminator_loss(D(x), D(G(z)))
                (+ lambda * gradient_penalty; then clip the weights for WGAN)
        draw m noise samples z_1..z_m
        update G by one optimiser step on generator_loss(D(G(z)))

Each player has its own optimiser (Adam for GAN, RMSprop for the clipped
WGAN). Fakes for the critic step are made under ``no_grad`` (the generator
is held fixed there), and D sees the data and the fakes stacked in one batch
(half the layer calls, larger matmuls). A critic with minibatch features
(``mixes_samples``, e.g. ``MinibatchStdCritic``) must not see the two mixed,
so it is called once on the data and once on the fakes: its statistics are
per real and per fake minibatch; the per-sample gradient penalty is refused
for it (its outputs are not independent across the batch).
``input_noise`` = sigma adds N(0, sigma^2) to every input of D ("instance
noise", lecture 001's "small noise perturbations" against mode collapse: P
and P_g then overlap, so D cannot become perfect).

Everything random is drawn from the trainer's ``rng`` (a numpy Generator):
the same seed gives the same run, and a checkpoint holds the generator's
and discriminator's parameters, both optimisers' states, the step count,
the history and the rng's state, so a resumed run reproduces the numbers of
an uninterrupted one. Checkpoints are written atomically (tmp file, then
``os.replace``) and never after a non-finite loss: training stops with a
``FloatingPointError`` naming the step.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np

import minigrad as mg
from minigrad import Tensor
from minigrad.checkpoint import load_arrays, save_arrays
from minigrad.optim import Adam
from dpm.distributions.base import resolve_rng
from dpm.models.gan.losses import LSGAN_TARGETS, _check_kind, discriminator_loss, generator_loss
from dpm.models.gan.penalty import clip_weights, gradient_penalty


def _positive_int(name, value):
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _non_negative(name, value):
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def optimizer_state(optimizer, prefix):
    """{prefix.i.key: ndarray} of an optimiser's per-parameter state (moments, step counts)."""
    return {f"{prefix}.{i}.{key}": np.asarray(value)
            for i, state in enumerate(optimizer.state) for key, value in state.items()}


def load_optimizer_state(optimizer, arrays, prefix):
    """Put back what ``optimizer_state`` saved (integers stay ints, arrays are copied)."""
    states = [{} for _ in optimizer.params]
    for name, value in arrays.items():
        head, _, rest = name.partition(".")
        if head != prefix:
            continue
        index, _, key = rest.partition(".")
        i = int(index)
        if i >= len(states):
            raise ValueError(f"checkpoint has optimiser state for parameter {i} of {prefix}, "
                             f"which has {len(states)} parameters")
        states[i][key] = int(value) if value.ndim == 0 and value.dtype.kind in "iu" \
            else np.array(value, dtype=optimizer.params[i].data.dtype)
    optimizer.state = states


def _encode_rng_state(state):
    """A bit generator's state as JSON text (arrays, as MT19937 keeps, tagged with their dtype)."""
    def encode(value):
        if isinstance(value, np.ndarray):
            return {"__ndarray__": value.tolist(), "dtype": str(value.dtype)}
        raise TypeError(f"cannot store {type(value).__name__} in an rng state")
    return json.dumps(state, default=encode)


def _decode_rng_state(text):
    def decode(obj):
        return np.array(obj["__ndarray__"], dtype=obj["dtype"]) if "__ndarray__" in obj else obj
    return json.loads(text, object_hook=decode)


class GANTrainer:
    """Alternate ``k`` critic steps and one generator step (Algorithm 1); see the module doc.

    generator: a Module mapping noise (m, noise_dim) to points; discriminator:
    a Module mapping points to logits (m,) or (m, 1). data: an ndarray of
    training points (minibatches drawn with replacement) or a callable
    (m, rng) -> ndarray of fresh samples. noise: a callable (m, rng) ->
    ndarray, default N(0, I) of ``noise_dim`` (default the generator's
    input width). kind: a loss of ``losses.KINDS``. gp_weight: lambda of
    the gradient penalty (0: none). clip: c of weight clipping (None: none).
    """

    def __init__(self, generator, discriminator, data, kind="non_saturating", k=1,
                 batch_size=64, g_optimizer=None, d_optimizer=None, noise=None, noise_dim=None,
                 gp_weight=0.0, one_sided=False, clip=None, input_noise=0.0,
                 targets=LSGAN_TARGETS, rng=None):
        self.generator, self.discriminator = generator, discriminator
        self.kind = _check_kind(kind)
        self.k = _positive_int("k", k)
        self.batch_size = _positive_int("batch_size", batch_size)
        self.gp_weight = _non_negative("gp_weight", gp_weight)
        self.one_sided = bool(one_sided)
        self.clip = None if clip is None else float(clip)
        if self.clip is not None and not self.clip > 0:
            raise ValueError(f"clip must be a number > 0 or None, got {clip!r}")
        self.input_noise = _non_negative("input_noise", input_noise)
        self.separate_batches = bool(getattr(discriminator, "mixes_samples", False))
        if self.separate_batches and self.gp_weight:
            raise ValueError("gp_weight must be 0 for a discriminator with minibatch features "
                             "(mixes_samples): the per-sample gradient penalty needs outputs "
                             "that are independent across the batch")
        self.targets = targets
        self.rng = resolve_rng(rng)
        if callable(data):
            self.sample_data = data
        else:
            points = np.asarray(data, dtype=float)
            if points.ndim < 1 or len(points) == 0:
                raise ValueError(f"data must be a non-empty array or a callable (m, rng), "
                                 f"got shape {points.shape}")
            self.sample_data = lambda m, rng: points[rng.integers(0, len(points), m)]
        if noise is None:
            noise_dim = noise_dim or getattr(generator, "sizes", [None])[0]
            if noise_dim is None:
                raise ValueError("give noise_dim (or a noise callable) for this generator")
            noise_dim = _positive_int("noise_dim", noise_dim)
            noise = lambda m, rng: rng.standard_normal((m, noise_dim))  # noqa: E731
        self.sample_noise = noise
        self.g_optimizer = g_optimizer or Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.999))
        self.d_optimizer = d_optimizer or Adam(discriminator.parameters(), lr=1e-3,
                                               betas=(0.5, 0.999))
        self.step_count = 0
        self.history = {"d_loss": [], "g_loss": []}
        self.metrics = []  # (step, dict) from callbacks

    # ------------------------------------------------------------- steps
    def _checked(self, what, logits):
        """The logits, or a FloatingPointError naming the step if any is NaN or inf."""
        if not np.all(np.isfinite(logits.data)):
            raise FloatingPointError(
                f"GAN training diverged at step {self.step_count + 1}: the discriminator's "
                f"logits on {what} are not finite; no checkpoint written for this step")
        return logits

    def _noisy(self, x):
        if self.input_noise:
            return x + self.input_noise * self.rng.standard_normal(x.shape)
        return x

    def sample(self, n, rng=None):
        """n generated points as an ndarray (no graph); ``rng`` default the trainer's."""
        rng = self.rng if rng is None else resolve_rng(rng)
        with mg.no_grad():
            return self.generator(Tensor(self.sample_noise(n, rng))).data.copy()

    def critic_step(self):
        """One optimiser step of D on a fresh minibatch; returns its loss."""
        m = self.batch_size
        real = np.asarray(self.sample_data(m, self.rng), dtype=float)
        fake = self.sample(m)
        real_in, fake_in = self._noisy(real), self._noisy(fake)
        if self.separate_batches:  # minibatch statistics per real / per fake minibatch
            real_logits = self.discriminator(Tensor(real_in))
            fake_logits = self.discriminator(Tensor(fake_in))
        else:  # one pass of D over the stacked batch: half the layer calls, larger matmuls
            logits = self.discriminator(Tensor(np.concatenate([real_in, fake_in])))
            real_logits, fake_logits = logits[:m], logits[m:]
        loss = discriminator_loss(self._checked("data", real_logits),
                                  self._checked("fakes", fake_logits), self.kind, self.targets)
        if self.gp_weight:
            loss = loss + self.gp_weight * gradient_penalty(
                self.discriminator, real_in, fake_in, self.rng, one_sided=self.one_sided)
        self.d_optimizer.zero_grad()
        loss.backward()
        self.d_optimizer.step()
        if self.clip is not None:
            clip_weights(self.discriminator, self.clip)
        return loss.item()

    def generator_step(self):
        """One optimiser step of G against the current D; returns its loss."""
        z = Tensor(self.sample_noise(self.batch_size, self.rng))
        fake = self.generator(z)
        if self.input_noise:
            fake = fake + self.input_noise * self.rng.standard_normal(fake.shape)
        loss = generator_loss(self._checked("fakes", self.discriminator(fake)), self.kind,
                              self.targets)
        # Gradients for G's parameters only: D's weight gradients are not needed here.
        params = self.g_optimizer.params
        for p, g in zip(params, mg.gradients(loss, params)):
            p.grad = g.data
        self.g_optimizer.step()
        return loss.item()

    def step(self):
        """k critic steps, then one generator step; returns (last critic loss, generator loss)."""
        for _ in range(self.k):
            d_loss = self.critic_step()
        g_loss = self.generator_step()
        self.step_count += 1
        self.history["d_loss"].append(d_loss)
        self.history["g_loss"].append(g_loss)
        if not (np.isfinite(d_loss) and np.isfinite(g_loss)):
            raise FloatingPointError(
                f"GAN training diverged at step {self.step_count}: critic loss {d_loss}, "
                f"generator loss {g_loss}; no checkpoint written for this step")
        return d_loss, g_loss

    # -------------------------------------------------------------- loop
    def train(self, steps, callback=None, every=100, checkpoint=None, checkpoint_every=None,
              progress=True):
        """Run until ``steps`` generator steps in total (a resumed trainer continues).

        Every ``every`` steps: ``callback(trainer)`` (its dict, if any, is kept
        in ``trainer.metrics`` with the step) and, with ``progress``, one line
        on stderr. ``checkpoint``: a path written every ``checkpoint_every``
        steps (default ``every``) and at the end. Returns ``self.history``.
        """
        if isinstance(steps, bool) or int(steps) != steps or steps < 0:
            raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
        steps = int(steps)
        every = _positive_int("every", every)
        checkpoint_every = _positive_int("checkpoint_every", checkpoint_every or every)
        start = time.perf_counter()
        while self.step_count < steps:
            d_loss, g_loss = self.step()
            t = self.step_count
            if t % every == 0 or t == steps:
                if callback is not None:
                    values = callback(self)
                    if values:
                        self.metrics.append((t, dict(values)))
                if progress:
                    rate = (time.perf_counter() - start) / max(1, t)
                    print(f"[gan {self.kind}] step {t}/{steps}  D loss {d_loss:.4f}  "
                          f"G loss {g_loss:.4f}  ({rate * 1e3:.1f} ms/step)",
                          file=sys.stderr, flush=True)
            if checkpoint is not None and (t % checkpoint_every == 0 or t == steps):
                self.save(checkpoint)
        return self.history

    # ------------------------------------------------------- checkpoints
    def state_arrays(self):
        """Everything a resumed run needs, as {name: ndarray} (no pickle)."""
        arrays = {f"generator.{n}": a for n, a in self.generator.state_dict().items()}
        arrays.update({f"discriminator.{n}": a
                       for n, a in self.discriminator.state_dict().items()})
        arrays.update(optimizer_state(self.g_optimizer, "g_optimizer"))
        arrays.update(optimizer_state(self.d_optimizer, "d_optimizer"))
        arrays["step"] = np.array(self.step_count)
        arrays["rng"] = np.array(_encode_rng_state(self.rng.bit_generator.state))
        arrays["history.d_loss"] = np.array(self.history["d_loss"], dtype=float)
        arrays["history.g_loss"] = np.array(self.history["g_loss"], dtype=float)
        return arrays

    def save(self, path):
        """Write the checkpoint atomically (refusing non-finite parameters)."""
        for module in (self.generator, self.discriminator):
            for name, p in module.named_parameters():
                if not np.all(np.isfinite(p.data)):
                    raise FloatingPointError(f"parameter {name} is not finite at step "
                                             f"{self.step_count}: checkpoint not written")
        save_arrays(path, self.state_arrays())

    def load(self, path):
        """Restore a checkpoint written by ``save``; returns self."""
        arrays = load_arrays(path)
        for prefix, module in (("generator", self.generator),
                               ("discriminator", self.discriminator)):
            module.load_state_dict({name[len(prefix) + 1:]: a for name, a in arrays.items()
                                    if name.startswith(prefix + ".")})
        load_optimizer_state(self.g_optimizer, arrays, "g_optimizer")
        load_optimizer_state(self.d_optimizer, arrays, "d_optimizer")
        self.step_count = int(arrays["step"])
        self.rng.bit_generator.state = _decode_rng_state(str(arrays["rng"]))
        self.history = {"d_loss": arrays["history.d_loss"].tolist(),
                        "g_loss": arrays["history.g_loss"].tolist()}
        return self
