"""Keras's spelling of the optimizers' arguments, and Keras's per-variable ``clipnorm``.

Every optimizer class accepts the arguments as Keras spells them, beside its own names:

    beta_1, beta_2      -> betas=(beta_1, beta_2)   (the other one keeps its default)
    epsilon             -> eps
    global_clipnorm     -> clip_norm    (one norm over all the gradients)
    clipvalue           -> clip_value   (each element clipped to [-clipvalue, clipvalue])
    clipnorm            -> clip_each    (each variable's gradient clipped to that norm alone)

``learning_rate`` and ``weight_decay`` are already both libraries' names (``weight_decay``
follows ``compat``: decoupled as Keras's with compat="keras", torch's L2 term otherwise).
As in Keras, at most one of clipnorm, clipvalue and global_clipnorm is given. Giving a
name in both spellings, or a Keras name the optimizer has no counterpart for, is an error.
"""
from __future__ import annotations

import functools
import inspect

import numpy as np

_RENAMED = {"epsilon": "eps", "global_clipnorm": "clip_norm", "clipvalue": "clip_value",
            "clipnorm": "clip_each"}
KERAS_NAMES = frozenset({"beta_1", "beta_2", *_RENAMED})
_CLIPS = ("clipnorm", "clipvalue", "global_clipnorm", "clip_norm", "clip_value", "clip_each")


def accept_keras_names(init):
    """Wrap an optimizer's __init__ so that Keras's argument names are translated."""
    params = inspect.signature(init).parameters

    @functools.wraps(init)
    def wrapped(self, *args, **kwargs):
        if not KERAS_NAMES.isdisjoint(kwargs):
            kwargs = translate(type(self).__name__, params, kwargs)
        return init(self, *args, **kwargs)

    return wrapped


def translate(cls: str, params, kwargs: dict) -> dict:
    """kwargs with Keras's names replaced by the library's (see the module doc)."""
    kwargs = dict(kwargs)
    given = [k for k in _CLIPS if kwargs.get(k) is not None]
    if len(given) > 1:
        raise ValueError(f"{cls}: give one of clipnorm, clipvalue and global_clipnorm (as "
                         f"Keras), not {' and '.join(given)}")
    if "beta_1" in kwargs or "beta_2" in kwargs:
        if "betas" not in params:
            raise TypeError(f"{cls} takes no beta_1/beta_2")
        if kwargs.get("betas") is not None:
            raise ValueError(f"{cls}: give betas or beta_1/beta_2, not both")
        default = params["betas"].default
        kwargs["betas"] = (kwargs.pop("beta_1", default[0]), kwargs.pop("beta_2", default[1]))
    for keras, ours in _RENAMED.items():
        if keras not in kwargs:
            continue
        if kwargs.get(ours) is not None:
            raise ValueError(f"{cls}: give {keras} or {ours}, not both")
        if ours == "eps" and "eps" not in params:
            raise TypeError(f"{cls} takes no epsilon")
        kwargs[ours] = kwargs.pop(keras)
    return kwargs


def clip_each(grads: list, clipnorm: float) -> list:
    """Each gradient alone scaled to norm <= clipnorm, as Keras's clipnorm:
    (g * clipnorm) / max(||g||, clipnorm); a zero gradient stays zero."""
    out = []
    for g in grads:
        l2sum = np.sum(np.square(g))
        l2norm = np.sqrt(l2sum) if l2sum > 0 else l2sum
        out.append((g * clipnorm) / np.maximum(l2norm, clipnorm))
    return out
