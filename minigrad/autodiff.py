"""Reverse-mode differentiation: the backward pass over the recorded graph.

For an output y and the graph that made it, the backward pass visits the
nodes in reverse topological order (every node after all the nodes that use
it) and applies the chain rule one primitive at a time:

    grad(x_i) += vjp_i(grad(out), out, x_1, ..., x_n)      (Primitive.vjp)

A rule reads its inputs' current values, so an input modified in place
after the forward pass (its version is newer than the node's) would give a
silently wrong gradient: the pass raises instead, as torch does.

The order is found by an explicit-stack depth-first search, not recursion,
so a chain of 100,000 operations works with Python's default recursion
limit. Gradients *accumulate*: a tensor used twice receives the sum of both
contributions (the diamond case).

With ``create_graph=True`` the VJP rules run with gradient recording on;
since every rule is written with Tensor primitives, the gradients are
themselves Tensors in a graph and can be differentiated again (``grad`` of
``grad``, Hessian-vector products, the WGAN-GP penalty).
"""
from __future__ import annotations

import contextlib
import functools
import math
import weakref

import numpy as np

from minigrad.tensor import Tensor, make_tensor


class _State:
    """Global switches (gradient recording, anomaly detection) and the modification count.

    ``version`` counts in-place modifications of tensors (``Tensor.data``
    assigned, optimizer steps). A node stores the count at its creation and a
    modified tensor the count at its modification, so the backward pass can
    tell whether an input changed after the node read it.
    """
    grad_enabled = True
    anomaly = False
    version = 0

    def bump_version(self):
        self.version += 1
        return self.version


STATE = _State()

# The node of a non-leaf whose graph was released by a backward pass.
_FREED = ("freed",)


@contextlib.contextmanager
def _grad_mode(enabled):
    previous = STATE.grad_enabled
    STATE.grad_enabled = enabled
    try:
        yield
    finally:
        STATE.grad_enabled = previous


def no_grad():
    """Context manager: primitives inside record no graph (inference, updates)."""
    return _grad_mode(False)


def enable_grad():
    """Context manager: record the graph even inside ``no_grad``."""
    return _grad_mode(True)


@contextlib.contextmanager
def detect_anomaly():
    """Context manager: stop at the first primitive whose output becomes non-finite.

    Inside it, every forward and backward primitive checks its result; the
    first one that turns finite inputs into NaN or inf raises
    ``FloatingPointError`` naming the primitive and the pass. Optimizers
    check gradients before an update. It costs a pass over every array, so
    it is off by default.
    """
    previous = STATE.anomaly
    STATE.anomaly = True
    try:
        yield
    finally:
        STATE.anomaly = previous


def check_anomaly(name, result, inputs, stage):
    """Raise if ``result`` is non-finite while all ``inputs`` are finite."""
    if np.all(np.isfinite(result)):
        return
    if all(np.all(np.isfinite(x)) for x in inputs):
        bad = "NaN" if np.any(np.isnan(result)) else "inf"
        raise FloatingPointError(
            f"anomaly: primitive '{name}' produced {bad} in its {stage} pass from finite "
            f"inputs of shapes {[np.shape(x) for x in inputs]}")


# ------------------------------------------------------------------ graph walk
def topological_order(roots):
    """Nodes reachable from ``roots`` through inputs that require grad.

    Returns a list in which every node comes after all of its inputs
    (parents before children). Iterative depth-first search with an explicit
    stack of (node, expanded) pairs, so depth is not limited by recursion.
    """
    order, seen = [], set()
    stack = [(root, False) for root in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:      # Tensors hash by identity (object.__hash__)
            continue
        seen.add(node)
        stack.append((node, True))
        entry = node._node
        if entry is _FREED:
            raise RuntimeError(
                "backward through a graph that was already freed by an earlier backward "
                "pass; pass retain_graph=True to the first backward to keep it")
        if entry is not None:
            for parent in entry[1]:
                if parent.requires_grad and parent not in seen:
                    stack.append((parent, False))
    return order


def _relevant(order, targets):
    """The nodes through which some target can be reached going upward."""
    relevant = set(targets)
    for node in order:  # parents come first, so one pass suffices
        entry = node._node
        if entry is not None and any(p in relevant for p in entry[1]):
            relevant.add(node)
    return relevant


def _propagate(roots, seeds, create_graph, targets=None):
    """Run the chain rule from ``roots`` with upstream ``seeds``.

    Returns (order, grads) where grads maps node -> gradient Tensor for
    every leaf reached (``targets is None``) or for every node in
    ``targets`` (a set of Tensors; Tensors hash by identity).
    """
    order = topological_order(roots)
    keep = None if targets is None else _relevant(order, targets)
    if not create_graph:
        return order, _propagate_arrays(order, roots, seeds, keep, targets)
    grads = {}
    for root, seed in zip(roots, seeds):
        grads[root] = _accumulate(grads.get(root), seed, create_graph)
    results = {}
    anomaly = STATE.anomaly
    previous_mode = STATE.grad_enabled
    STATE.grad_enabled = create_graph
    # A VJP rule is built of primitives too; their own forward checks would
    # name an op the user never called (sqrt's rule divides). Off inside the
    # rules, the result of each rule is checked below under the rule's name.
    STATE.anomaly = False
    try:
        for node in reversed(order):
            g = grads.pop(node, None)
            if g is None:
                continue
            entry = node._node
            if targets is None:
                if entry is None:  # a leaf
                    results[node] = g
            elif node in targets:
                results[node] = g
            if entry is None:
                continue
            prim, inputs, kwargs, version = entry
            if version != STATE.version:
                _check_unmodified(prim, inputs, version)
            for i, x in enumerate(inputs):
                if not x.requires_grad or (keep is not None and x not in keep):
                    continue
                gx = prim.vjp(i, g, node, inputs, kwargs)
                if gx is None:
                    continue
                if gx._data.shape != x._data.shape:
                    gx = _sum_to(gx, shape=x._data.shape)
                if anomaly:
                    check_anomaly(prim.name, gx._data, [g._data] + [t._data for t in inputs],
                                  "backward")
                grads[x] = _accumulate(grads.get(x), gx, create_graph)
    finally:
        STATE.grad_enabled = previous_mode
        STATE.anomaly = anomaly
    return order, results


def _accumulate(previous, g, create_graph):
    """previous + g; on raw arrays when no graph is being recorded (faster)."""
    if previous is None:
        return g
    if create_graph:
        return previous + g
    return make_tensor(previous._data + g._data)


def _check_unmodified(prim, inputs, version):
    """Raise if an input of a node recorded at ``version`` was modified since."""
    for k, x in enumerate(inputs):
        if x._version > version:
            raise RuntimeError(
                f"input {k} (shape {x._data.shape}) of primitive '{prim.name}' was modified "
                f"in place after the forward pass (Tensor.data assigned, or an optimizer "
                f"step); its gradient would use the new values. Recompute the forward pass "
                f"after modifying it")


def _propagate_arrays(order, roots, seeds, keep, targets):
    """The first-order chain rule (nothing recorded) on ndarrays: ``_propagate``'s fast path.

    Gradients stay ndarrays from the seeds to the leaves: each node's array
    rules (``Primitive.defvjp_arrays``, or one joint rule for all its inputs,
    ``defvjp_arrays_joint``) take and return arrays, and a primitive without
    them has its Tensor rule run on wrapped arrays. Only the results are
    wrapped as Tensors.
    """
    grads = {}
    for root, seed in zip(roots, seeds):
        previous = grads.get(root)
        grads[root] = seed._data if previous is None else previous + seed._data
    results = {}
    anomaly, previous_mode, state_version = STATE.anomaly, STATE.grad_enabled, STATE.version
    STATE.grad_enabled = STATE.anomaly = False   # as in _propagate
    try:
        for node in reversed(order):
            g = grads.pop(node, None)
            if g is None:
                continue
            entry = node._node
            if targets is None:
                if entry is None:  # a leaf
                    results[node] = g
            elif node in targets:
                results[node] = g
            if entry is None:
                continue
            prim, inputs, kwargs, version = entry
            if version != state_version:
                _check_unmodified(prim, inputs, version)
            rules, joint, arrays = prim.array_vjps, prim.array_vjp_joint, None
            wanted = [x.requires_grad and (keep is None or x in keep) for x in inputs]
            for i, x in enumerate(inputs):
                if not wanted[i]:
                    continue
                if joint is not None:
                    if arrays is None:   # one call gives every input's gradient
                        arrays = [t._data for t in inputs]
                        joint_grads = joint(g, node._data, wanted, *arrays, **kwargs)
                    gx = joint_grads[i]
                elif rules is not None:
                    if arrays is None:
                        arrays = [t._data for t in inputs]
                    gx = rules[i](g, node._data, *arrays, **kwargs)
                else:
                    gx = prim.vjp(i, make_tensor(g), node, inputs, kwargs)
                    gx = None if gx is None else gx._data
                if gx is None:
                    continue
                if type(gx) is not np.ndarray:
                    gx = np.asarray(gx)
                if gx.shape != x._data.shape:
                    gx = _sum_to_array(gx, x._data.shape)
                if anomaly:
                    check_anomaly(prim.name, gx, [g] + [t._data for t in inputs], "backward")
                previous = grads.get(x)
                grads[x] = gx if previous is None else previous + gx
    finally:
        STATE.grad_enabled = previous_mode
        STATE.anomaly = anomaly
    return {key: make_tensor(value) for key, value in results.items()}


def _sum_to_array(g, shape):
    if g.size == math.prod(shape):       # only axes of length 1 differ: nothing to sum
        return g.reshape(shape)
    from minigrad.ops.shape import sum_to  # the primitives import this module
    return sum_to.forward(g, shape=shape)


def _sum_to(g, shape):
    from minigrad.ops import sum_to  # the primitives import this module
    return sum_to(g, shape=shape)


def _seed(output, grad):
    if grad is None:
        if output._data.size != 1:
            raise RuntimeError(
                f"backward() of a non-scalar Tensor of shape {output.shape} needs the upstream "
                f"gradient: pass grad= of that shape (e.g. ones for a sum)")
        return make_tensor(np.ones(output._data.shape, dtype=output._data.dtype))
    grad = grad if isinstance(grad, Tensor) else Tensor(grad)
    if grad.shape != output.shape:
        raise ValueError(f"grad of shape {grad.shape} does not match the output's shape "
                         f"{output.shape}")
    return grad


def _free(order):
    for node in order:
        if node._node is not None:
            node._node = _FREED


def backward(output, grad=None, create_graph=False, retain_graph=None):
    """Accumulate d(output)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
    if not output.requires_grad:
        raise RuntimeError("backward() on a Tensor that does not require grad: none of its "
                           "inputs had requires_grad=True (or it was computed under no_grad)")
    seed = _seed(output, grad)
    order, results = _propagate([output], [seed], create_graph)
    with _grad_mode(create_graph):
        _store_gradients(order, results, create_graph, seed)
    if not (create_graph if retain_graph is None else retain_graph):
        _free(order)


def _store_gradients(order, results, create_graph, seed):
    """leaf.grad += the gradient reached for each leaf (a Tensor: ``grad_tensor``).

    A leaf's gradient never shares memory with anything else: an array made
    in this pass and reaching one leaf only is kept as it is, any other (the
    caller's seed, a view, one array reaching two leaves) is copied.
    """
    kept = {id(seed._data)}
    for leaf in order:
        g = results.get(leaf)
        if g is None:
            continue
        if leaf._grad is not None:
            leaf._grad = _accumulate(leaf._grad, g, create_graph)
        elif create_graph:
            leaf._grad = g * 1.0   # a node of its own: g may be shared with other leaves
        elif g._data.flags.owndata and id(g._data) not in kept:
            leaf._grad = g
        else:
            leaf._grad = make_tensor(g._data.copy())
        kept.add(id(g._data))


def gradients(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """Gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated).

    ``outputs`` and ``inputs`` are Tensors or sequences of Tensors; inputs may
    be intermediate results, not only leaves. An input the outputs do not
    depend on gets a zero gradient. ``grad_outputs`` (the upstream gradients)
    is one array or Tensor for a single output, else a sequence of them (None
    entries: ones, for one-element outputs). With ``create_graph=True`` the
    returned gradients are differentiable.
    """
    one_output = isinstance(outputs, Tensor)
    outputs = [outputs] if one_output else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None or (one_output and not isinstance(grad_outputs, (list, tuple))):
        grad_outputs = [grad_outputs] * len(outputs)   # one output: any array-like is its seed
    elif not isinstance(grad_outputs, (list, tuple)):
        raise ValueError(f"grad_outputs for a sequence of {len(outputs)} outputs must be a list "
                         f"or tuple of upstream gradients, got {type(grad_outputs).__name__}")
    elif len(grad_outputs) != len(outputs):
        raise ValueError(f"grad_outputs has {len(grad_outputs)} entries for {len(outputs)} "
                         f"outputs")
    for x in inputs:
        if not x.requires_grad:
            raise ValueError("gradients(): every input must have requires_grad=True")
    live = [(o, _seed(o, g)) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    results = {}
    order = []
    if live:
        order, results = _propagate([o for o, _ in live], [s for _, s in live], create_graph,
                                    targets=set(inputs))
    grads = [results.get(x, make_tensor(np.zeros_like(x._data))) for x in inputs]
    if not (create_graph if retain_graph is None else retain_graph):
        _free(order)
    return grads[0] if single else grads


def grad(f, argnums=0):
    """The function computing d f / d args[argnums] for a scalar-valued ``f``.

    ``grad(f)(x)`` returns a Tensor of x's shape (a tuple when ``argnums`` is
    a tuple). Arguments may be numbers, arrays or Tensors. The backward pass
    is recorded (so the result is differentiable again) whenever the value
    of f depends on a tensor that requires grad other than the fresh inputs
    made here: an argument that is already such a Tensor (``grad(grad(f))``,
    the mixed partials of ``grad(lambda y: grad(lambda x: f(x, y))(x0))``) or
    a parameter f closes over (the gradient penalty ``|grad_x D_w(x)|^2``,
    differentiated in w). Under ``no_grad`` nothing is recorded.
    """
    many = isinstance(argnums, (tuple, list))
    positions = tuple(argnums) if many else (argnums,)

    @functools.wraps(f)
    def gradient_of_f(*args, **kwargs):
        recording = STATE.grad_enabled
        args = list(args)
        fresh = []
        for k in positions:
            if not (isinstance(args[k], Tensor) and args[k].requires_grad):
                args[k] = Tensor(args[k], requires_grad=True)
                fresh.append(args[k])
        with enable_grad():
            value = f(*args, **kwargs)
        if not isinstance(value, Tensor) or value.data.size != 1:
            raise TypeError(f"grad(f) needs f to return a one-element Tensor, got "
                            f"{type(value).__name__} of shape {np.shape(value)}")
        if not value.requires_grad:
            zeros = [make_tensor(np.zeros_like(args[k]._data)) for k in positions]
            return tuple(zeros) if many else zeros[0]
        record = recording and _depends_on_outer_leaves(value, fresh)
        grads = gradients(value, [args[k] for k in positions], create_graph=record)
        for t in fresh:  # an enclosing grad cannot reach them except through our result
            _INNER_LEAVES[id(t)] = t
        return tuple(grads) if many else grads[0]

    return gradient_of_f


# The fresh inputs made by finished ``grad`` calls. A recorded inner gradient
# keeps its fresh input as a leaf of its graph, but no enclosing function can
# ask for a derivative with respect to it, so it does not make the enclosing
# ``grad`` record its own backward pass. Weak values: the entries go with the
# tensors.
_INNER_LEAVES = weakref.WeakValueDictionary()


def _depends_on_outer_leaves(value, fresh):
    """True when ``value``'s graph reaches a leaf that requires grad other than ``fresh``.

    Such a leaf (a parameter, or the fresh input of an enclosing ``grad``)
    may be differentiated with respect to later, so the gradient of value
    must be recorded as a function of it.
    """
    for node in topological_order([value]):
        if (node._node is None and not any(node is t for t in fresh)
                and _INNER_LEAVES.get(id(node)) is not node):
            return True
    return False
