"""Warm-up adaptation shared by HMC and NUTS: dual averaging and a windowed diagonal metric.

Step size by dual averaging (Nesterov 2009; Hoffman and Gelman 2014, sec.
3.2.1), driving the mean acceptance statistic a_t toward delta:

    s_t = (1 - 1/(t + t0)) s_{t-1} + (delta - a_t) / (t + t0)
    log eps_t = mu - sqrt(t) / gamma * s_t,   mu = log(10 eps_0)
    log eps_bar_t = t^-kappa log eps_t + (1 - t^-kappa) log eps_bar_{t-1}

with Stan's gamma = 0.05, t0 = 10, kappa = 0.75; after warm-up eps_bar is used.

Diagonal metric (Stan's windowed adaptation): after an initial fast window
(75 iterations) the draws of slow windows of doubling length (25, 50, ...)
feed a running variance (Welford); at each window's end the inverse metric
becomes the regularised variance n/(n+5) var + 1e-3 * 5/(n+5) and the step
size search restarts; a final fast window (50) tunes the step size alone.
Everything is per chain: arrays with a leading chains axis.
"""
from __future__ import annotations

import numpy as np


class DualAveraging:
    """Dual averaging of log step size, one state per chain."""

    def __init__(self, step_size, target_accept, gamma=0.05, t0=10.0, kappa=0.75):
        self.target, self.gamma, self.t0, self.kappa = target_accept, gamma, t0, kappa
        self.restart(step_size)

    def restart(self, step_size):
        step_size = np.asarray(step_size, dtype=np.float64)
        self.mu = np.log(10.0 * step_size)
        self.s_bar = np.zeros_like(step_size)
        self.log_step_bar = np.zeros_like(step_size)
        self.counter = 0

    def update(self, accept_stat):
        """Feed the acceptance statistics (chains,); return the next step sizes."""
        self.counter += 1
        t = self.counter
        accept_stat = np.minimum(1.0, np.nan_to_num(np.asarray(accept_stat), nan=0.0))
        eta = 1.0 / (t + self.t0)
        self.s_bar = (1.0 - eta) * self.s_bar + eta * (self.target - accept_stat)
        log_step = self.mu - self.s_bar * np.sqrt(t) / self.gamma
        weight = t ** -self.kappa
        self.log_step_bar = weight * log_step + (1.0 - weight) * self.log_step_bar
        return np.exp(log_step)

    @property
    def final_step_size(self):
        return np.exp(self.log_step_bar)


class Welford:
    """Running mean and variance of (chains, dim) draws, one per chain."""

    def __init__(self, chains, dim):
        self.count, self.mean, self.m2 = 0, np.zeros((chains, dim)), np.zeros((chains, dim))

    def add(self, x):
        self.count += 1
        delta = x - self.mean
        self.mean = self.mean + delta / self.count
        self.m2 = self.m2 + delta * (x - self.mean)

    def regularized_variance(self):
        n = self.count
        variance = self.m2 / max(n - 1, 1)
        return (n / (n + 5.0)) * variance + 1e-3 * (5.0 / (n + 5.0))


def metric_windows(warmup, init_buffer=75, term_buffer=50, base_window=25):
    """(start, ends): iterations where slow windows begin and where each one ends.

    Stan's schedule; for a short warm-up the buffers shrink to 15% and 10%.
    Fewer than 20 warm-up iterations: no metric adaptation (ends = []).
    """
    if warmup < 20:
        return warmup, []
    if init_buffer + term_buffer + base_window > warmup:
        init_buffer, term_buffer = int(0.15 * warmup), int(0.1 * warmup)
        base_window = warmup - init_buffer - term_buffer
    ends, start, size = [], init_buffer, base_window
    while True:
        end = start + size
        if end + 2 * size > warmup - term_buffer:
            ends.append(warmup - term_buffer)
            return init_buffer, ends
        ends.append(end)
        start, size = end, 2 * size


class WindowedAdaptation:
    """Step size and diagonal inverse metric over warm-up, driven by ``step(t, x, stat)``."""

    def __init__(self, warmup, step_size, inv_metric, target_accept, adapt_metric, retune):
        self.warmup = warmup
        self.step_size, self.inv_metric = step_size, inv_metric
        self.dual = DualAveraging(step_size, target_accept)
        self.start, self.ends = metric_windows(warmup) if adapt_metric else (warmup, [])
        self.variance = Welford(*inv_metric.shape)
        self.retune = retune  # (inv_metric, step_size) -> new initial step size

    def step(self, t, x, accept_stat):
        """After warm-up iteration t (0-based) at state x with its acceptance statistic."""
        self.step_size = self.dual.update(accept_stat)
        if self.start <= t < (self.ends[-1] if self.ends else -1):
            self.variance.add(x)
        if t + 1 in self.ends:
            self.inv_metric = self.variance.regularized_variance()
            self.variance = Welford(*self.inv_metric.shape)
            self.step_size = self.retune(self.inv_metric, self.step_size)
            self.dual.restart(self.step_size)
        if t + 1 == self.warmup:
            self.step_size = self.dual.final_step_size
        return self.step_size, self.inv_metric
