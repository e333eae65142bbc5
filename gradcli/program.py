"""Compiled programs: an expression's graph made ready once, replayed at every point.

This is the interface the hot paths (many points, minimize, fit) call. The first
version replays the graph on a gradient tape; the compiled version (a straight-line
program, issue 7) keeps this interface:

    prog = compile_expression(expression, wrt=["x", "y"])  # once
    prog.value(env)                    # env: name -> float or numpy array (broadcast)
    prog.value_and_grad(env)           # (value, grads): grads[..., i] = d value / d wrt[i],
                                       #   per point, shape broadcast(values) + (len(wrt),)
    prog.value_and_vjp(env, seed)      # (value, v): v[i] = sum over points of
                                       #   seed(value) * d value / d wrt[i]  (shape (len(wrt),))
    prog.hessian(env)                  # (len(wrt), len(wrt)) at one point
    fg = prog.point_function()         # for optimizers: fg(p) -> (float, ndarray (len(wrt),))
                                       #   with p an ndarray (len(wrt),) in wrt order; needs
                                       #   wrt to hold every variable; the cheapest call per point

``seed`` in ``value_and_vjp`` is a callable from the value array to the output
gradient (for a mean squared error: ``lambda f: 2 * (f - y) / n``), so that one
forward pass serves both the loss and its gradient.
"""
from __future__ import annotations

import numpy as np

from .tape import GradientTape
from .tensor import as_dtype, constant


class Program:
    """An expression ready to be evaluated and differentiated along ``wrt`` many times."""

    def __init__(self, expression, wrt=None, dtype=None):
        self.expression = expression
        self.wrt = list(expression.variables if wrt is None else wrt)
        unknown = [w for w in self.wrt if w not in expression.variables]
        if unknown:
            raise ValueError(f"not variables of {expression.text!r}: {', '.join(unknown)}")
        self.dtype = as_dtype(dtype)

    def _tensors(self, env):
        return {name: constant(np.asarray(env[name], dtype=self.dtype), self.dtype)
                for name in self.expression.variables}

    def value(self, env):
        """The value at env (arrays of points give an array)."""
        return self.expression.evaluate(env, dtype=self.dtype)

    def value_and_grad(self, env):
        """The value and the per-point gradient along ``wrt`` (last axis)."""
        xs = self._tensors(env)
        shape = np.broadcast_shapes(*(t.shape for t in xs.values())) if xs else ()
        sources = [constant(np.broadcast_to(xs[w].value, shape).copy(), self.dtype)
                   for w in self.wrt]
        xs.update(zip(self.wrt, sources))
        with GradientTape() as tape:
            tape.watch(sources)
            y = self.expression.to_tensor(xs)
        grads = tape.gradient(y, sources, unconnected_gradients="zero")
        shape = np.broadcast_shapes(y.shape, *(g.shape for g in grads))
        stacked = (np.stack([np.broadcast_to(g.value, shape) for g in grads], axis=-1)
                   if grads else np.zeros(shape + (0,), dtype=self.dtype))
        return np.broadcast_to(y.value, shape), stacked

    def value_and_vjp(self, env, seed):
        """The value and sum(seed(value) * d value / d wrt[i]) for each wrt[i]."""
        xs = self._tensors(env)
        sources = [xs[w] for w in self.wrt]
        with GradientTape() as tape:
            tape.watch(sources)
            y = self.expression.to_tensor(xs)
        out = np.asarray(seed(y.value), dtype=self.dtype)
        grads = tape.gradient(y, sources, output_gradients=constant(out, self.dtype),
                              unconnected_gradients="zero")
        v = np.array([np.sum(g.value) for g in grads], dtype=self.dtype)
        return y.value, v

    def hessian(self, env):
        """The matrix of second derivatives along ``wrt`` at one point."""
        full = self.expression.hessian(env, dtype=self.dtype)
        index = [self.expression.variables.index(w) for w in self.wrt]
        return np.asarray(full)[np.ix_(index, index)]


    def point_function(self):
        """``fg(p) -> (value, gradient)`` at one point given as an array in ``wrt`` order."""
        missing = [v for v in self.expression.variables if v not in self.wrt]
        if missing:
            raise ValueError(f"point_function needs every variable in wrt; missing {missing}")

        def fg(p):
            value, grad = self.value_and_grad(dict(zip(self.wrt, np.asarray(p, dtype=self.dtype))))
            return float(value), np.asarray(grad, dtype=self.dtype).reshape(len(self.wrt))

        return fg


def compile_expression(expression, wrt=None, dtype=None) -> Program:
    """The Program of a parsed Expression, differentiated along ``wrt`` (default: all)."""
    return Program(expression, wrt, dtype)
