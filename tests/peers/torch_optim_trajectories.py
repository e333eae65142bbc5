"""Reference trajectories of torch.optim (torch 2.13.0, CPU, float64), for tests/test_lbfgs.py
and tests/test_optimizer_rules.py. Not run by the tests (torch is not a dependency):

    pip install torch==2.13.0 && python tests/peers/torch_optim_trajectories.py

prints the constants those tests hold. L-BFGS: one ``step(closure)`` with ``max_iter`` =
ITERATIONS (``max_eval`` its default, max_iter * 5 // 4), history_size 100, tolerance_grad 1e-7,
tolerance_change 1e-9; the iterates are read where ``_add_grad`` moves the parameters for good
(a line-search trial is undone by ``_set_param``); the evaluation count is that of the closure.
First-order rules: 200 ``step()`` calls with the gradient set by hand, every 20th point kept;
and 30 steps with each pipeline option (weight decay, maximize, a schedule, clipping).
"""
import torch

torch.set_default_dtype(torch.float64)


def rosenbrock(p):
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def quadratic(p):
    x, y = p[0], p[1]
    return 2 * (x - 1) ** 2 + 10 * (y + 2) ** 2 + 3 * (x - 1) * (y + 2)


def bowl(p):  # tests/test_optimizers.py's bowl
    return (p[0] - 3) ** 2 + 5 * (p[1] + 1) ** 2 + (p[2] - 0.5) ** 4


def lbfgs_trajectory(f, start, iterations, line_search, lr=1.0, history_size=100):
    param = torch.tensor(start, requires_grad=True)
    opt = torch.optim.LBFGS([param], lr=lr, max_iter=iterations, line_search_fn=line_search,
                            history_size=history_size)
    points, evals = [], [0]

    def closure():
        opt.zero_grad()
        loss = f(param)
        loss.backward()
        evals[0] += 1
        return loss

    add, set_param = opt._add_grad, opt._set_param

    def logged_add(t, d):
        add(t, d)
        points.append((param.detach().clone().tolist(), evals[0]))

    def logged_set(data):
        set_param(data)
        points.pop()  # the trial point of a line search, undone

    opt._add_grad, opt._set_param = logged_add, logged_set
    opt.step(closure)
    # the evaluations made when the iterate was taken: with a line search, those up to it
    return [(p, float(f(torch.tensor(p))), e) for p, e in points], evals[0]


def first_order(name, f, start, steps=200, every=20, **kw):
    param = torch.tensor(start, requires_grad=True)
    opt = getattr(torch.optim, name)([param], **kw)
    kept = []
    for k in range(1, steps + 1):
        opt.zero_grad()
        f(param).backward()
        opt.step()
        if k % every == 0:
            kept.append(param.detach().tolist())
    return kept


LBFGS_CASES = [  # (name, function, start, max_iter, line_search, lr, history_size)
    ("rosenbrock-strong-wolfe", rosenbrock, [-1.2, 1.0], 60, "strong_wolfe", 1.0, 100),
    ("rosenbrock-none", rosenbrock, [-1.2, 1.0], 60, None, 0.05, 100),
    ("quadratic-strong-wolfe", quadratic, [3.0, 1.0], 20, "strong_wolfe", 1.0, 100),
    ("quadratic-none", quadratic, [3.0, 1.0], 20, None, 0.1, 100),
    ("rosenbrock-strong-wolfe-history-2", rosenbrock, [-1.5, 2.0], 100, "strong_wolfe", 1.0, 2),
]
RULE_CASES = [  # (torch class, function, start, keywords)
    ("RAdam", bowl, [0.0, 0.0, 0.0], {"lr": 0.1}),
    ("Rprop", bowl, [0.0, 0.0, 0.0], {}),
    ("Adadelta", bowl, [0.0, 0.0, 0.0], {}),
    ("ASGD", bowl, [0.0, 0.0, 0.0], {"lr": 0.01}),
    ("ASGD", bowl, [0.0, 0.0, 0.0], {"lr": 0.01, "t0": 50.0, "lambd": 0.01}),
    ("RAdam", rosenbrock, [-1.2, 1.0], {"lr": 0.01, "weight_decay": 0.1}),
    ("RAdam", rosenbrock, [-1.2, 1.0], {"lr": 0.01, "weight_decay": 0.1,
                                        "decoupled_weight_decay": True}),
    ("Adadelta", rosenbrock, [-1.2, 1.0], {"lr": 0.5, "weight_decay": 0.1}),
    ("Rprop", rosenbrock, [-1.2, 1.0],
     {"lr": 0.001, "etas": (0.3, 1.5), "step_sizes": (1e-4, 0.5)}),
    ("Adadelta", rosenbrock, [-1.2, 1.0], {"lr": 0.5, "maximize": True}),
]


def bowl_variant(name, variant, steps=30):
    """30 steps on the bowl with one of gradcli's pipeline options, as torch does it: L2
    weight decay, maximize (of -f), ExponentialLR(0.9) after each step, the gradient clipped
    to [-0.5, 0.5] or to global norm 1 (tf.clip_by_global_norm: no 1e-6) by hand."""
    param = torch.tensor([0.0, 0.0, 0.0], requires_grad=True)
    kw = {"weight_decay": {"weight_decay": 0.05}, "maximize": {"maximize": True}}.get(variant, {})
    opt = getattr(torch.optim, name)([param], lr=RULE_LR[name], **kw)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(opt, 0.9) if variant == "exp" else None
    kept = []
    for k in range(1, steps + 1):
        opt.zero_grad()
        (-bowl(param) if variant == "maximize" else bowl(param)).backward()
        if variant == "clip_value":
            param.grad.clamp_(-0.5, 0.5)
        if variant == "clip_norm":
            norm = float(param.grad.norm())
            param.grad.mul_(1.0 * min(1.0 / norm, 1.0))
        opt.step()
        if scheduler is not None:
            scheduler.step()
        if k % 10 == 0:
            kept.append(param.detach().tolist())
    return kept


def lbfgs_calls(calls=3):
    """LBFGS([p], line_search_fn="strong_wolfe") with its defaults (max_iter 20, max_eval 25
    per call), step(closure) called three times on Rosenbrock from (-1.2, 1): the point,
    state["func_evals"] and state["n_iter"] after each call."""
    param = torch.tensor([-1.2, 1.0], requires_grad=True)
    opt = torch.optim.LBFGS([param], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = rosenbrock(param)
        loss.backward()
        return loss

    out = []
    for _ in range(calls):
        opt.step(closure)
        state = opt.state[opt._params[0]]
        out.append((param.detach().tolist(), state["func_evals"], state["n_iter"]))
    return out


RULE_LR = {"RAdam": 0.1, "Rprop": 0.05, "Adadelta": 1.0, "ASGD": 0.02}
VARIANTS = ["weight_decay", "maximize", "exp", "clip_value", "clip_norm"]


if __name__ == "__main__":
    print(f"# torch {torch.__version__}")
    print("LBFGS_TORCH = {  # name: (start, max_iter, line_search, lr, history_size, "
          "evaluations, iterates (x, y, f, evaluations so far))")
    for name, f, start, its, ls, lr, history in LBFGS_CASES:
        traj, total = lbfgs_trajectory(f, start, its, ls, lr, history)
        print(f"    {name!r}: ({start!r}, {its}, {ls!r}, {lr!r}, {history}, {total}, [")
        for p, v, e in traj:
            print(f"        ({p[0]!r}, {p[1]!r}, {v!r}, {e}),")
        print("    ]),")
    print("}")
    print("RULES_TORCH = [  # (torch class, function, start, keywords, every 20th point of 200)")
    for name, f, start, kw in RULE_CASES:
        kept = first_order(name, f, start, **kw)
        print(f"    ({name!r}, {f.__name__!r}, {start!r}, {kw!r}, [")
        for p in kept:
            print(f"        {p!r},")
        print("    ]),")
    print("]")
    print(f"LBFGS_CALLS_TORCH = {lbfgs_calls()!r}")
    print("VARIANTS_TORCH = {  # (torch class, variant): every 10th point of 30 on the bowl")
    for name in RULE_LR:
        for variant in VARIANTS:
            if name == "Rprop" and variant == "weight_decay":
                continue  # torch's Rprop has no weight decay
            print(f"    ({name!r}, {variant!r}): {bowl_variant(name, variant)!r},")
    print("}")
