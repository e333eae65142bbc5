"""The rules added after the first nine: radam, rprop, adadelta, asgd (torch.optim's rules and
defaults) and lion (optax's and Keras 3's rule).

Oracles: torch.optim's float64 iterates over 200 steps (recorded below), optax.lion's
(recorded below) and an independent transcription of its rule, the defaults of torch
2.13.0's signatures and Keras 3's; the float path is the array path bit for bit.
"""
import math

import numpy as np
import pytest

from gradcli import optimizers as O

NEW = ("radam", "rprop", "adadelta", "asgd", "lion")


def bowl_grad(p):  # (x-3)**2 + 5*(y+1)**2 + (z-0.5)**4, test_optimizers' bowl
    return np.array([2 * (p[0] - 3), 10 * (p[1] + 1), 4 * (p[2] - 0.5) ** 3])


def rosenbrock_grad(p):  # (1-x)**2 + 100*(y-x**2)**2
    x, y = p
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


GRADIENTS = {"bowl": bowl_grad, "rosenbrock": rosenbrock_grad}

# torch 2.13.0+cpu, float64: tests/peers/torch_optim_trajectories.py, 200 step() calls with
# the gradient of the function set by autograd; every 20th point kept.
RULES_TORCH = [  # (torch class, function, start, keywords, every 20th point of 200)
    ('RAdam', 'bowl', [0.0, 0.0, 0.0], {'lr': 0.1}, [
        [2.4535371522442384, -1.2657984548534376, 0.2494868757799743],
        [2.5823106689394755, -1.1170161892658828, 0.34090807155645314],
        [2.7351276206753194, -1.002267475888459, 0.3925599689271342],
        [2.8705447795040335, -0.9831231316026678, 0.4164524744742566],
        [2.9589624155992356, -1.0008014215267724, 0.4294406673990482],
        [2.997445696775419, -1.0018609120271542, 0.43826246450260153],
        [3.004588214933433, -0.9992260766983373, 0.4450451795747635],
        [3.001750781598071, -1.0001609330504524, 0.45052889426773624],
        [2.999777673513003, -0.9999908830562029, 0.45506482474609833],
        [2.999747039709387, -0.9999913954710266, 0.4588728834174083],
    ]),
    ('Rprop', 'bowl', [0.0, 0.0, 0.0], {}, [
        [1.866879996223737, -0.9668634239227001, 0.5063646679711742],
        [3.00100204598951, -1.0002696984517971, 0.5000855042304899],
        [3.0000151283429535, -1.0000002152003749, 0.5000003969868018],
        [2.9999992163013163, -1.000000162226744, 0.5000003969868018],
        [2.9999992163013163, -1.000000162226744, 0.5000003969868018],
        [2.9999992163013163, -1.000000162226744, 0.5000003969868018],
        [2.9999992163013163, -1.000000162226744, 0.5000003969868018],
        [2.9999992163013163, -1.000000162226744, 0.5000003969868018],
        [2.9999992163013163, -1.000000162226744, 0.5000003969868018],
        [2.9999992163013163, -1.000000162226744, 0.5000003969868018],
    ]),
    ('Adadelta', 'bowl', [0.0, 0.0, 0.0], {}, [
        [0.06930055695117877, -0.06815828367485019, 0.06076318790325254],
        [0.14388216152966418, -0.1386102058282596, 0.11013108214702248],
        [0.22186589179502586, -0.20924870681872088, 0.15154765624976202],
        [0.3027301588068659, -0.27947289112913815, 0.18822335302255297],
        [0.3860875630587644, -0.348831819539486, 0.22194360615027572],
        [0.47159293260883184, -0.4169125883547417, 0.25355035411641585],
        [0.5589277066327302, -0.48332146936314485, 0.2833687331253794],
        [0.6477944493373692, -0.5476774961192041, 0.3114768120417107],
        [0.7379134578460657, -0.6096074451798821, 0.3378453704353048],
        [0.8290202265957647, -0.668740239281943, 0.362396717341968],
    ]),
    ('ASGD', 'bowl', [0.0, 0.0, 0.0], {'lr': 0.01}, [
        [0.9971612755732976, -0.8784153379963587, 0.07819514460687375],
        [1.6628542566697182, -0.9852089611494522, 0.12824139373752527],
        [2.1072656765951407, -0.9981928625140165, 0.1638077216803956],
        [2.4039530760173826, -0.9997714896717544, 0.19076459096600978],
        [2.602021685281243, -0.9999634309608322, 0.2121100191887375],
        [2.7342531660600256, -0.9999867693952279, 0.2295570697365882],
        [2.8225320287055524, -0.9999896072456765, 0.24416540699684894],
        [2.88146810997329, -0.9999899523272456, 0.2566305277564684],
        [2.9208148214490772, -0.9999899942904357, 0.26743041615793045],
        [2.9470835035089626, -0.9999899993934848, 0.2769058976101051],
    ]),
    ('ASGD', 'bowl', [0.0, 0.0, 0.0], {'lr': 0.01, 't0': 50.0, 'lambd': 0.01}, [
        [0.9956973856979048, -0.8776234015941176, 0.07808237615937591],
        [1.658458013493501, -0.984204626937523, 0.12789753887088579],
        [2.099879291914425, -0.9971912815545877, 0.1631883472359601],
        [2.3940613070635672, -0.9987789238906039, 0.18984868513467437],
        [2.590236609098758, -0.9989736578134354, 0.21088608013363272],
        [2.721135802265748, -0.9989976217910829, 0.22801814764436978],
        [2.808532115835431, -0.9990005804804554, 0.2423070105915985],
        [2.8669185355713513, -0.9990009469668536, 0.2544496246762256],
        [2.9059479691664287, -0.9990009925106523, 0.264924908197599],
        [2.932053553382661, -0.9990009981888232, 0.27407432342619925],
    ]),
    ('RAdam', 'rosenbrock', [-1.2, 1.0], {'lr': 0.01, 'weight_decay': 0.1}, [
        [-1.2424870105466254e+17, 123527339484.89394],
        [-1.2424870105466254e+17, 123527339484.91728],
        [-1.2424870105466254e+17, 123527339484.94847],
        [-1.2424870105466254e+17, 123527339484.9855],
        [-1.2424870105466254e+17, 123527339485.02747],
        [-1.2424870105466254e+17, 123527339485.07382],
        [-1.2424870105466254e+17, 123527339485.12416],
        [-1.2424870105466254e+17, 123527339485.17815],
        [-1.2424870105466254e+17, 123527339485.23553],
        [-1.2424870105466254e+17, 123527339485.29611],
    ]),
    ('RAdam', 'rosenbrock', [-1.2, 1.0],
     {'lr': 0.01, 'weight_decay': 0.1, 'decoupled_weight_decay': True}, [
        [-1.2150308250915632e+17, 121093497103.382],
        [-1.1909596851793926e+17, 118694497464.02547],
        [-1.1673654218737288e+17, 116343024730.80524],
        [-1.1442385877076613e+17, 114038137341.75745],
        [-1.1215699223793226e+17, 111778912388.33067],
        [-1.0993503490439374e+17, 109564445245.83986],
        [-1.0775709706793298e+17, 107393849211.24217],
        [-1.0562230665234322e+17, 105266255148.08867],
        [-1.0352980885823733e+17, 103180811138.51007],
        [-1.0147876582077435e+17, 101136682142.09729],
    ]),
    ('Adadelta', 'rosenbrock', [-1.2, 1.0], {'lr': 0.5, 'weight_decay': 0.1}, [
        [-1.1685122391140066, 1.0317115208857994],
        [-1.1416327289783652, 1.0591300538900157],
        [-1.1193335385901273, 1.081952488104133],
        [-1.1008503035680435, 1.1006803056633825],
        [-1.085728222889692, 1.1155437276598492],
        [-1.073916602414058, 1.1262791080793086],
        [-1.0656447910920843, 1.1317837639086161],
        [-1.0603661665213246, 1.1292934058861952],
        [-1.0540874845836736, 1.1171643971585137],
        [-1.0440143068290888, 1.0969044286929852],
    ]),
    ('Rprop', 'rosenbrock', [-1.2, 1.0],
     {'lr': 0.001, 'etas': (0.3, 1.5), 'step_sizes': (0.0001, 0.5)}, [
        [-1.0615495892333986, 1.124437806274414],
        [-1.0482708977238524, 1.096817755490409],
        [-1.0115216413991497, 1.02042612921608],
        [-0.9729383603096389, 0.9581037519216132],
        [-0.9363552734431062, 0.888350180778874],
        [-0.9162587185362927, 0.8550969278638948],
        [-0.8896852915930469, 0.7864798962217447],
        [-0.8430958476783408, 0.7336214556125289],
        [-0.8171574184660342, 0.6817966474226271],
        [-0.7620384417348749, 0.5987831192946705],
    ]),
    ('Adadelta', 'rosenbrock', [-1.2, 1.0], {'lr': 0.5, 'maximize': True}, [
        [-1.2387414383127247, 0.9616141022931501],
        [-1.2930538693197433, 0.9091779420724929],
        [-1.3685738526983247, 0.8388891863771086],
        [-1.4751634090220427, 0.7445636076084227],
        [-1.6303695730503291, 0.6163814773346286],
        [-1.8686509616488975, 0.43740385840173646],
        [-2.2685578075897324, 0.17441603069429118],
        [-3.0580094549716312, -0.2526533439949219],
        [-5.2825574285563635, -1.1274607887852834],
        [-24.44863638829475, -5.08444599406418],
    ]),
]

# torch 2.13.0+cpu, float64 (tests/peers/torch_optim_trajectories.py, bowl_variant): 30 steps
# from (0, 0, 0) with lr RAdam 0.1, Rprop 0.05, Adadelta 1.0, ASGD 0.02 and one option:
# weight decay 0.05 (L2), maximize (of -f), ExponentialLR(0.9), gradients clipped to
# [-0.5, 0.5] or to global norm 1; every 10th point
VARIANTS_TORCH = {
    ('RAdam', 'weight_decay'): [
        [2.3950112985190617, -1.301869471669066, 0.20318450637678906],
        [2.4377664409280104, -1.2552857946729392, 0.24615462672647892],
        [2.493930050948604, -1.1850567618215373, 0.29110762006019375],
    ],
    ('RAdam', 'maximize'): [
        [2.4092030929396824, -1.3127263655046435, 0.2046072353908311],
        [2.4535371522442384, -1.2657984548534376, 0.2494868757799743],
        [2.5125131403384073, -1.1949735191726307, 0.29887916118809676],
    ],
    ('RAdam', 'exp'): [
        [2.0444684171531233, -1.386667284695873, 0.1693728341193988],
        [2.0564311664901567, -1.3753968191787433, 0.18104028972625888],
        [2.0624926673023243, -1.3688687674042503, 0.1867358653033341],
    ],
    ('RAdam', 'clip_value'): [
        [0.26904010349097013, -0.26904010349097013, 0.2046072353908311],
        [0.33915517604072126, -0.33915517604072126, 0.2494868757799743],
        [0.4383444788632332, -0.4383444788632332, 0.29887916118809676],
    ],
    ('RAdam', 'clip_norm'): [
        [0.29246655018904705, -0.4363533204041405, 0.04182143782277415],
        [0.3645575883464518, -0.5046760843494847, 0.11018523212324864],
        [0.4680315996131512, -0.5995873340632819, 0.19299101991353695],
    ],
    ('Rprop', 'maximize'): [
        [1.2979341055999998, -1.0399450879999999, 0.48156607999999995],
        [3.0881880078270454, -1.0223158384639999, 0.49858618879999994],
        [3.001523511469997, -0.9981680664166398, 0.500117998592],
    ],
    ('Rprop', 'exp'): [
        [1.2979341055999998, -1.0399450879999999, 0.48156607999999995],
        [3.0881880078270454, -1.0223158384639999, 0.49858618879999994],
        [3.001523511469997, -0.9981680664166398, 0.500117998592],
    ],
    ('Rprop', 'clip_value'): [
        [1.2979341055999998, -1.0399450879999999, 0.48156607999999995],
        [3.0881880078270454, -1.0223158384639999, 0.49858618879999994],
        [3.001523511469997, -0.9981680664166398, 0.500117998592],
    ],
    ('Rprop', 'clip_norm'): [
        [1.2979341055999998, -1.0399450879999999, 0.48156607999999995],
        [3.0881880078270454, -1.0223158384639999, 0.49858618879999994],
        [3.001523511469997, -0.9981680664166398, 0.500117998592],
    ],
    ('Adadelta', 'weight_decay'): [
        [0.03363241503031881, -0.03340124343626677, 0.031717216029096655],
        [0.06928622090941573, -0.06814975228584125, 0.06060215667020213],
        [0.10608409660341928, -0.10328635254055704, 0.08633306702623489],
    ],
    ('Adadelta', 'maximize'): [
        [0.033635318270427136, -0.03340298649283864, 0.03175217547572701],
        [0.06930055695117877, -0.06815828367485019, 0.06076318790325254],
        [0.10611957295127533, -0.10330724642018214, 0.08670440457204147],
    ],
    ('Adadelta', 'exp'): [
        [0.02173017243802751, -0.021639654923010874, 0.020981038591483158],
        [0.029851603147459955, -0.02966340130494014, 0.02832633349550788],
        [0.03280321739257439, -0.03257181271542745, 0.03094219477324375],
    ],
    ('Adadelta', 'clip_value'): [
        [0.033750721009964436, -0.033750721009964436, 0.03175217547572701],
        [0.06987367707213238, -0.06987367707213238, 0.06076318790325254],
        [0.10754290540451379, -0.10754290540451379, 0.08670440457204147],
    ],
    ('Adadelta', 'clip_norm'): [
        [0.03392622860275403, -0.03369114026139289, 0.03193105454118908],
        [0.07075289295066765, -0.06956720569968272, 0.0617413363978774],
        [0.1097542031867915, -0.10675543643708066, 0.08893630910201075],
    ],
    ('ASGD', 'weight_decay'): [
        [1.0011379560601887, -0.889504904363573, 0.07865069448470174],
        [1.6598063705607056, -0.98382640459738, 0.12806556079833484],
        [2.093160095682033, -0.9938284642475445, 0.16263617859725799],
    ],
    ('ASGD', 'maximize'): [
        [1.0054877596424512, -0.8926177638369894, 0.0789928879136091],
        [1.6739485039177469, -0.9884606553600978, 0.12918515601124847],
        [2.118352282336917, -0.9987519633480949, 0.16473771695812606],
    ],
    ('ASGD', 'exp'): [
        [0.7540984438251793, -0.7873966482549949, 0.05996418100845595],
        [0.9708521985083062, -0.8734884869593914, 0.07631298312343693],
        [1.0411537092854024, -0.8940816215157549, 0.08157742030810584],
    ],
    ('ASGD', 'clip_value'): [
        [0.09999842502443086, -0.09999842502443086, 0.0789928879136091],
        [0.19999335021873024, -0.19999335021873024, 0.12918515601124847],
        [0.2999847757653797, -0.2999847757653797, 0.16473771695812606],
    ],
    ('ASGD', 'clip_norm'): [
        [0.107723484982333, -0.1682273451096048, 0.008906292944597794],
        [0.2275136439248256, -0.3280074713753157, 0.018637857080839662],
        [0.3611034458096159, -0.4763356593516665, 0.029298875667506503],
    ],
}

VARIANT_LR = {"RAdam": 0.1, "Rprop": 0.05, "Adadelta": 1.0, "ASGD": 0.02}
VARIANT_OPTIONS = {"weight_decay": {"weight_decay": 0.05}, "maximize": {"maximize": True},
                   "exp": {"schedule": "exp:0.9"}, "clip_value": {"clip_value": 0.5},
                   "clip_norm": {"clip_norm": 1.0}}


@pytest.mark.parametrize("path", ["update", "float_stepper"])
@pytest.mark.parametrize("cls, variant", sorted(VARIANTS_TORCH))
def test_each_pipeline_option_is_torch_optims_to_1e_9(cls, variant, path):
    """Schedules reach ASGD's eta and Adadelta's step but not Rprop's step sizes (torch sets
    them from lr once); weight decay is L2 in the gradient; clipping comes before the rule."""
    opt = O.make(cls.lower(), lr=VARIANT_LR[cls], **VARIANT_OPTIONS[variant])
    grad = (lambda p: -bowl_grad(p)) if variant == "maximize" else bowl_grad
    step = opt.float_stepper(3) if path == "float_stepper" else None
    p = np.zeros(3)
    for k in range(1, 31):
        p = opt.update(p, grad(p)) if step is None else np.array(step(p.tolist(), grad(p).tolist()))
        if k % 10 == 0:
            expected = VARIANTS_TORCH[cls, variant][k // 10 - 1]
            assert p.tolist() == pytest.approx(expected, rel=1e-9, abs=1e-9), f"step {k}"


def _keywords(kw):
    return {k: v for k, v in kw.items() if not (k == "maximize" and not v)}


@pytest.mark.parametrize("path", ["update", "float_stepper"])
@pytest.mark.parametrize("cls, function, start, kw, points", RULES_TORCH,
                         ids=[f"{c}-{f}-{i}" for i, (c, f, *_) in enumerate(RULES_TORCH)])
def test_200_steps_are_torch_optims_to_1e_9(cls, function, start, kw, points, path):
    opt = O.make(cls.lower(), **_keywords(kw))
    grad = GRADIENTS[function]  # maximize: both ascend f along the same gradient
    p = np.array(start, dtype=float)
    step = opt.float_stepper(len(start)) if path == "float_stepper" else None
    for k in range(1, 201):
        p = opt.update(p, grad(p)) if step is None else np.array(step(p.tolist(), grad(p).tolist()))
        if k % 20 == 0:
            assert p.tolist() == pytest.approx(points[k // 20 - 1], rel=1e-9, abs=1e-9), f"step {k}"


# optax 0.2.8, jax 0.10.2, float64: tests/peers/optax_lion_trajectories.py, 200 updates of
# optax.lion(lr, b1=0.9, b2=0.99, weight_decay=wd) with jax's gradient; every 20th point kept.
LION_OPTAX = [  # (function, start, lr, weight_decay, every 20th point of 200)
    ('bowl', [0.0, 0.0, 0.0], 0.01, 0.0, [
        [0.20000000000000004, -0.20000000000000004, 0.20000000000000004],
        [0.4000000000000002, -0.4000000000000002, 0.4000000000000002],
        [0.6000000000000003, -0.6000000000000003, 0.6000000000000003],
        [0.8000000000000005, -0.8000000000000005, 0.8000000000000005],
        [1.0000000000000007, -1.0000000000000007, 0.7000000000000004],
        [1.2000000000000008, -1.2000000000000008, 0.5800000000000003],
        [1.400000000000001, -1.400000000000001, 0.5400000000000003],
        [1.6000000000000012, -1.420000000000001, 0.5200000000000002],
        [1.8000000000000014, -1.2200000000000009, 0.5000000000000002],
        [2.0000000000000013, -1.0200000000000007, 0.5000000000000002],
    ]),
    ('bowl', [0.0, 0.0, 0.0], 0.01, 0.1, [
        [0.1981113517046531, -0.1981113517046531, 0.1981113517046531],
        [0.39229789264188186, -0.39229789264188186, 0.39229789264188186],
        [0.5826373777683181, -0.5826373777683181, 0.5826373777683181],
        [0.7692060216266376, -0.7692060216266376, 0.7692060216266376],
        [0.9520785288629097, -0.9520785288629097, 0.7133941387470877],
        [1.131328124139362, -1.131328124139362, 0.6002551143185691],
        [1.3070265814545412, -1.3070265814545412, 0.5488007305446974],
        [1.4792442528826066, -1.4592442528826068, 0.5181664943670969],
        [1.6480500967432685, -1.2322236160373714, 0.5079212055899333],
        [1.8135117052136422, -1.0097005157151622, 0.49789825247007535],
    ]),
    ('rosenbrock', [-1.2, 1.0], 0.001, 0.0, [
        [-1.1800000000000022, 1.0199999999999978],
        [-1.1600000000000044, 1.0399999999999956],
        [-1.1400000000000066, 1.0599999999999934],
        [-1.1200000000000088, 1.0799999999999912],
        [-1.100000000000011, 1.099999999999989],
        [-1.0800000000000132, 1.1199999999999868],
        [-1.0600000000000154, 1.1399999999999846],
        [-1.0400000000000176, 1.1599999999999824],
        [-1.0200000000000198, 1.1799999999999802],
        [-1.000000000000022, 1.1939999999999786],
    ]),
]


@pytest.mark.parametrize("path", ["update", "float_stepper"])
@pytest.mark.parametrize("function, start, lr, wd, points", LION_OPTAX,
                         ids=[f"{f}-{wd}" for f, _, _, wd, _ in LION_OPTAX])
def test_200_lion_steps_are_optax_lions_to_1e_9(function, start, lr, wd, points, path):
    opt = O.make("lion", lr=lr, weight_decay=wd)
    grad = GRADIENTS[function]
    p = np.array(start, dtype=float)
    step = opt.float_stepper(len(start)) if path == "float_stepper" else None
    for k in range(1, 201):
        p = opt.update(p, grad(p)) if step is None else np.array(step(p.tolist(), grad(p).tolist()))
        if k % 20 == 0:
            assert p.tolist() == pytest.approx(points[k // 20 - 1], rel=1e-9, abs=1e-9), f"step {k}"


@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_lion_is_optax_lion(wd):
    """optax.lion (optax/_src/alias.py: scale_by_lion, add_decayed_weights, then the rate):
    u = sign((1-b1) g + b1 mu); mu = (1-b2) g + b2 mu; p <- p - lr (u + wd p)."""
    opt, p = O.make("lion", lr=0.01, weight_decay=wd), np.zeros(3)
    expected = []
    q, mu = [0.0, 0.0, 0.0], [0.0] * 3
    for _ in range(200):  # optax's rule written out on Python floats
        g = bowl_grad(np.array(q)).tolist()
        u = [0.0 if c == 0 else math.copysign(1.0, c)
             for c in ((1 - 0.9) * gi + 0.9 * m for gi, m in zip(g, mu))]
        mu = [(1 - 0.99) * gi + 0.99 * m for gi, m in zip(g, mu)]
        q = [x - 0.01 * (ui + wd * x) for x, ui in zip(q, u)]
        expected.append(q)
    for k in range(200):
        p = opt.update(p, bowl_grad(p))
        assert p.tolist() == pytest.approx(expected[k], rel=1e-12, abs=1e-13), f"step {k + 1}"


def test_lion_moves_every_coordinate_by_lr_on_the_first_step():
    p = O.make("lion", lr=0.25).update(np.array([1.0, 2.0, 3.0]), np.array([-5.0, 1e-9, 0.0]))
    assert p.tolist() == [1.25, 1.75, 3.0]  # sign(0.1 g): +-1, and 0 where g is 0


def test_rprop_grows_and_shrinks_its_steps_by_the_gradient_signs():
    opt = O.make("rprop", lr=0.1)  # etas (0.5, 1.2), step sizes clamped to [1e-6, 50]
    p = opt.update(np.array([0.0]), np.array([2.0]))  # no previous gradient: step 0.1
    assert p.tolist() == [-0.1]
    p = opt.update(p, np.array([3.0]))  # same sign: 0.1 * 1.2
    assert p.tolist() == pytest.approx([-0.1 - 0.12], rel=1e-15)
    p = opt.update(p, np.array([-1.0]))  # sign change: step * 0.5, this gradient ignored
    assert p.tolist() == pytest.approx([-0.22], rel=1e-15)
    p = opt.update(p, np.array([-1.0]))  # after the ignored one: step 0.06, moving up
    assert p.tolist() == pytest.approx([-0.22 + 0.06], rel=1e-14)


def test_asgd_rate_decays_as_torch_eta():
    opt = O.make("asgd", lr=0.1, lambd=0.5, alpha=0.75)
    p = opt.update(np.array([1.0]), np.array([1.0]))  # eta_0 = lr: 1*(1 - 0.05) - 0.1
    assert p.tolist() == [0.95 - 0.1]
    eta = 0.1 / (1 + 0.5 * 0.1 * 1) ** 0.75
    p2 = opt.update(p, np.array([1.0]))
    assert p2.tolist() == pytest.approx([0.85 * (1 - 0.5 * eta) - eta], rel=1e-15)


# torch 2.13.0's signatures (torch/optim/{radam,rprop,adadelta,asgd}.py); Keras 3's Lion
DEFAULTS = [
    ("radam", {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0,
               "decoupled_weight_decay": False}),
    ("rprop", {"lr": 1e-2, "etas": (0.5, 1.2), "step_sizes": (1e-6, 50.0)}),
    ("adadelta", {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0}),
    ("asgd", {"lr": 1e-2, "lambd": 1e-4, "alpha": 0.75, "t0": 1e6, "weight_decay": 0.0}),
    ("lion", {"lr": 1e-3, "betas": (0.9, 0.99), "weight_decay": 0.0}),
]


@pytest.mark.parametrize("name, expected", DEFAULTS, ids=[d[0] for d in DEFAULTS])
def test_defaults_are_torch_optims_and_keras_lions(name, expected):
    opt = O.make(name)
    assert {k: getattr(opt, k) for k in expected} == expected
    assert type(opt).__name__.lower() == name and opt.name == name


def test_keras_adadelta_defaults():  # keras.optimizers.Adadelta(0.001, rho=0.95, epsilon=1e-7)
    opt = O.make("adadelta", compat="keras")
    assert (opt.lr, opt.rho, opt.eps) == (1e-3, 0.95, 1e-7)


def test_the_names_of_every_optimizer():
    assert O.NAMES[-len(NEW):] == NEW
    assert O.ALL_NAMES == (*O.NAMES, "newton", "lbfgs", "bfgs")


@pytest.mark.parametrize("name, kw, message", [
    ("rprop", {"weight_decay": 0.1}, "rprop does not take weight_decay"),
    ("rprop", {"etas": (1.5, 1.2)}, "etas must satisfy 0 < eta- < 1 < eta+"),
    ("rprop", {"step_sizes": (1.0, 0.5)}, "step_sizes must satisfy 0 <= min <= max"),
    ("adadelta", {"rho": 1.5}, "rho must be a finite number >= 0 and <= 1"),
    ("asgd", {"lambd": -1.0}, "lambd must be a finite number >= 0"),
    ("lion", {"betas": (1.0, 0.9)}, r"betas must be in \[0, 1\)"),
    ("radam", {"amsgrad": True}, "radam does not take amsgrad"),
])
def test_bad_hyperparameters_are_value_errors(name, kw, message):
    with pytest.raises(ValueError, match=message):
        O.make(name, **kw)


VARIANTS = {
    "plain": {},
    "weight_decay": {"weight_decay": 0.01},
    "maximize": {"maximize": True},
    "cosine": {"schedule": "cosine:20"},
    "clip_norm": {"clip_norm": 1.0},
    "clip_value": {"clip_value": 0.5},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("compat", ["torch", "keras"])
@pytest.mark.parametrize("name", NEW)
def test_float_stepper_is_update_bit_for_bit(name, compat, variant):
    kw = dict(VARIANTS[variant])
    if name == "rprop" and "weight_decay" in kw:
        kw = {}
    arrays, floats = O.make(name, compat=compat, lr=0.05, **kw), O.make(name, compat=compat,
                                                                         lr=0.05, **kw)
    step = floats.float_stepper(3)
    grad = (lambda p: -bowl_grad(p)) if kw.get("maximize") else bowl_grad
    p, q = np.zeros(3), [0.0, 0.0, 0.0]
    for k in range(40):
        p, q = arrays.update(p, grad(p)), step(q, grad(np.array(q)).tolist())
        assert p.tolist() == q, f"step {k + 1}"


@pytest.mark.parametrize("name, traced", [("radam", False), ("rprop", False), ("adadelta", True),
                                          ("asgd", True), ("lion", True)])
def test_which_rules_trace_into_one_function(name, traced):
    """RAdam branches on rho_t and Rprop on the gradient's sign change: per coordinate."""
    step = O.make(name).float_stepper(2)
    assert hasattr(step, "source") == traced


def test_float32_mode_keeps_the_new_rules_in_float32_and_near_float64():
    for name in NEW:
        runs = {}
        for dtype in ("float64", "float32"):
            opt, x = O.make(name, lr=0.05, dtype=dtype), np.array([3.0], dtype=dtype)
            for _ in range(30):
                x = opt.update(x, 2 * (x - 50))
            runs[dtype] = x
        assert runs["float32"].dtype == np.float32, name
        assert float(runs["float32"][0]) == pytest.approx(float(runs["float64"][0]), rel=1e-5)


# -- properties ------------------------------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

unit = st.floats(0.0, 0.999)
OPTIONS = {
    "radam": st.fixed_dictionaries({"betas": st.tuples(unit, unit), "eps": st.floats(0, 1e-3)}),
    "rprop": st.fixed_dictionaries({"etas": st.tuples(st.floats(0.1, 0.9), st.floats(1.1, 3)),
                                    "step_sizes": st.tuples(st.floats(0, 1e-3), st.floats(1, 50))}),
    "adadelta": st.fixed_dictionaries({"rho": unit, "eps": st.floats(1e-9, 1e-3)}),
    "asgd": st.fixed_dictionaries({"lambd": st.floats(0, 1), "alpha": st.floats(0, 1),
                                   "t0": st.floats(0, 30)}),
    "lion": st.fixed_dictionaries({"betas": st.tuples(unit, unit)}),
}


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(NEW).flatmap(lambda name: st.tuples(st.just(name), OPTIONS[name])),
       st.floats(1e-4, 0.5), st.lists(st.floats(-5, 5), min_size=3, max_size=3))
def test_float_stepper_is_update_bit_for_bit_for_any_hyperparameters(case, lr, start):
    name, options = case
    arrays, floats = O.make(name, lr=lr, **options), O.make(name, lr=lr, **options)
    step = floats.float_stepper(3)
    p, q = np.array(start), list(start)
    for k in range(25):
        p, q = arrays.update(p, bowl_grad(p)), step(q, bowl_grad(np.array(q)).tolist())
        assert list(map(repr, p.tolist())) == list(map(repr, q)), f"step {k + 1}"  # nan, -0.0


@pytest.mark.parametrize("name", NEW)
def test_keras_style_minimize_on_variables_is_the_flat_update(name):
    import gradcli as gc

    x, y = gc.Variable(np.array([1.0, 2.0])), gc.Variable(3.0)
    opt, flat, p = O.make(name, lr=0.1), O.make(name, lr=0.1), np.array([1.0, 2.0, 3.0])
    for _ in range(50):
        opt.minimize(lambda: gc.reduce_sum((x - 3) ** 2) + (y + 1) ** 2, [x, y])
        p = flat.update(p, np.array([2 * (p[0] - 3), 2 * (p[1] - 3), 2 * (p[2] + 1)]))
    assert [*x.numpy().tolist(), float(y.numpy())] == pytest.approx(p.tolist(), rel=1e-12)
