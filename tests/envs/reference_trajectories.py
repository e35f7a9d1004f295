#!/usr/bin/python3
# Reference numbers for tests/envs: the classic-control equations of
# docs/papers/environments.md written again in numpy, the way Gymnasium's Python
# code computes them (float64; MountainCarContinuous rounds its state to
# float32), and bsuite's DeepSea mapping from numpy's legacy RandomState.
# Run with Debian's python3 (numpy); tests/envs/test_*.cpp hard-code its output.
import math
import numpy as np

def fmt(xs):
    return "{" + ", ".join(repr(float(x)) for x in xs) + "}"

def cartpole(state, actions):
    g, mc, mp, l, F, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    x, xd, th, thd = state
    out = []
    for a in actions:
        f = F if a == 1 else -F
        c, s = math.cos(th), math.sin(th)
        temp = (f + mp * l * thd**2 * s) / (mc + mp)
        thacc = (g * s - c * temp) / (l * (4.0 / 3.0 - mp * c**2 / (mc + mp)))
        xacc = temp - mp * l * thacc * c / (mc + mp)
        x = x + tau * xd; xd = xd + tau * xacc; th = th + tau * thd; thd = thd + tau * thacc
        out.append((x, xd, th, thd))
    return out

def angle_normalize(x):
    return ((x + np.pi) % (2 * np.pi)) - np.pi

def pendulum(th, thd, actions):
    g, m, l, dt = 10.0, 1.0, 1.0, 0.05
    out = []
    for u in actions:
        u = float(np.clip(u, -2.0, 2.0))
        cost = angle_normalize(th) ** 2 + 0.1 * thd**2 + 0.001 * u**2
        nthd = thd + (3 * g / (2 * l) * np.sin(th) + 3.0 / (m * l**2) * u) * dt
        nthd = float(np.clip(nthd, -8, 8))
        th = th + nthd * dt
        thd = nthd
        out.append((np.cos(th), np.sin(th), thd, -cost))
    return out

def acrobot_dsdt(s, a):
    m1 = m2 = l1 = 1.0; lc1 = lc2 = 0.5; I1 = I2 = 1.0; g = 9.8
    t1, t2, d1_, d2_ = s
    d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * np.cos(t2)) + I1 + I2
    d2 = m2 * (lc2**2 + l1 * lc2 * np.cos(t2)) + I2
    phi2 = m2 * lc2 * g * np.cos(t1 + t2 - np.pi / 2.0)
    phi1 = (-m2 * l1 * lc2 * d2_**2 * np.sin(t2) - 2 * m2 * l1 * lc2 * d2_ * d1_ * np.sin(t2)
            + (m1 * lc1 + m2 * l1) * g * np.cos(t1 - np.pi / 2) + phi2)
    dd2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * d1_**2 * np.sin(t2) - phi2) / (m2 * lc2**2 + I2 - d2**2 / d1)
    dd1 = -(d2 * dd2 + phi1) / d1
    return np.array([d1_, d2_, dd1, dd2])

def wrap(x, m, M):
    diff = M - m
    while x > M: x = x - diff
    while x < m: x = x + diff
    return x

def acrobot(state, actions):
    s = np.array(state, dtype=np.float64)
    out = []
    for a in actions:
        tq = [-1.0, 0.0, 1.0][a]
        h = 0.2
        k1 = acrobot_dsdt(s, tq); k2 = acrobot_dsdt(s + h / 2 * k1, tq)
        k3 = acrobot_dsdt(s + h / 2 * k2, tq); k4 = acrobot_dsdt(s + h * k3, tq)
        ns = s + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        ns[0] = wrap(ns[0], -np.pi, np.pi); ns[1] = wrap(ns[1], -np.pi, np.pi)
        ns[2] = np.clip(ns[2], -4 * np.pi, 4 * np.pi); ns[3] = np.clip(ns[3], -9 * np.pi, 9 * np.pi)
        s = ns
        out.append(tuple(s))
    return out

def mountain_car(x, v, actions):
    out = []
    for a in actions:
        v += (a - 1) * 0.001 + math.cos(3 * x) * (-0.0025)
        v = float(np.clip(v, -0.07, 0.07)); x += v; x = float(np.clip(x, -1.2, 0.6))
        if x == -1.2 and v < 0: v = 0.0
        out.append((x, v, x >= 0.5 and v >= 0))
    return out

def mountain_car_continuous(x, v, actions):
    out = []
    x, v = float(np.float32(x)), float(np.float32(v))
    for a in actions:
        force = min(max(a, -1.0), 1.0)
        v += force * 0.0015 - 0.0025 * math.cos(3 * x)
        v = min(max(v, -0.07), 0.07); x += v; x = min(max(x, -1.2), 0.6)
        if x == -1.2 and v < 0: v = 0.0
        done = x >= 0.45 and v >= 0
        r = (100.0 if done else 0.0) - 0.1 * a * a
        x, v = float(np.float32(x)), float(np.float32(v))
        out.append((x, v, r))
    return out

print("cartpole", [fmt(s) for s in cartpole((0.01, -0.02, 0.03, 0.04), [1, 1, 0, 1, 0])])
print("pendulum", [fmt(s) for s in pendulum(3.0, -0.5, [1.5, -3.0, 0.25, 2.0, 0.0])])
print("pendulum_wrap", [fmt([angle_normalize(t)]) for t in [-7.0, -math.pi, math.pi, 4.0, 10.0]])
print("acrobot", [fmt(s) for s in acrobot((0.05, -0.03, 0.2, -0.1), [2, 0, 1, 2, 2])])
print("mountain_car", [fmt(s[:2]) for s in mountain_car(-0.5, 0.0, [2, 2, 0, 1, 2])])
print("mountain_car_cont", [fmt(s) for s in mountain_car_continuous(-0.5234, 0.0123, [0.7, -1.5, 0.2])])
for n in (10, 20):
    m = np.random.RandomState(42).binomial(1, 0.5, [n, n])
    print(f"deepsea{n}", "".join(str(b) for b in m.flatten()))
