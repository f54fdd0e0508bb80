#!/usr/bin/env python3
"""Write PyTorch / numpy reference vectors for the kdts linear models.

The output (default tests/ref/linear_ref.bin, KDTSREF1 format as
tools/gen_torch_ref.py writes it) is read by tests/test_linear.c through
tests/ref_read.h, so the tests never need Python.  Run from the repository
root:

    /usr/bin/python3 tools/gen_torch_ref_linear.py [--out PATH]

Everything is float64, from inputs that are exactly float32-representable.

Models (window x (B,T,F) read as one vector of D = T*F values, index
t*F+f):
  NLinear: out = Linear(z), z = x, or z = x - x[:, T-1, :] with the target
           feature's last value added to every output (subtract_last).
  DLinear: trend = moving average of `kernel` steps over the window padded
           at both ends by repeating its first / last step (torch
           avg_pool1d on the padded window), remainder = z - trend,
           out = Linear_t(trend) + Linear_s(remainder).
Flat parameters (kdts layout): NLinear W (O x D), b (O); DLinear W_t, b_t,
W_s, b_s.  Gradients are of L = sum(out * G) for a fixed G (so dL/dout = G),
by autograd.

Closed-form fits (numpy, float64): ridge least squares
    minimize (1/n) sum_i |y_i - W z_i - b|^2 + lam |W|^2, b not penalized,
lam = 0 by np.linalg.lstsq on [z, 1] (minimum-norm), lam > 0 by centring and
solving (Zc^T Zc / n + lam I) W^T = Zc^T Yc / n; DLinear on the explicit
regressors [trend, remainder] built with the torch decomposition, its whole
bias in b_t.
"""

import argparse
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as Fn

MAGIC = b"KDTSREF1"
SEED = 20241202
DT = torch.float64

B, T, F, HZ, K = 3, 7, 2, 3, 5          # forward / gradient cases
LO, HI = -2.0, 2.0                      # bins (only the shape matters here)
FN, FT, FF, FH = 40, 6, 2, 3            # closed-form fits: n, T, F, horizon

# tag, kind (0 NLinear, 1 DLinear), dist, kernel, subtract_last, target_rev
CASES = [
    ("nl_pt", 0, 0, 0, 0, 0),
    ("nl_ds", 0, 1, 0, 0, 0),
    ("dl_pt", 1, 0, 5, 0, 0),
    ("dl_ds", 1, 1, 5, 0, 0),
    ("nls_pt", 0, 0, 0, 1, 0),
    ("dl9s_pt", 1, 0, 9, 1, 1),
]


def f32(a):
    return torch.tensor(np.asarray(a, dtype=np.float32).astype(np.float64), dtype=DT)


def decompose(x, kernel):
    """trend, remainder of x (B,T,F): moving average over the padded window."""
    p = (kernel - 1) // 2
    front = x[:, :1, :].expand(-1, p, -1)
    end = x[:, -1:, :].expand(-1, p, -1)
    xp = torch.cat([front, x, end], dim=1)
    trend = Fn.avg_pool1d(xp.transpose(1, 2), kernel, stride=1).transpose(1, 2)
    return trend, x - trend


def decompose_np(x, kernel):
    """The same by clamped indices, to check the torch version."""
    n, t_, f_ = x.shape
    p = (kernel - 1) // 2
    tr = np.zeros_like(x)
    for t in range(t_):
        idx = [min(max(j, 0), t_ - 1) for j in range(t - p, t + p + 1)]
        tr[:, t, :] = x[:, idx, :].mean(axis=1)
    return tr, x - tr


class Lin(torch.nn.Module):
    def __init__(self, d, o, kind, kernel, sub, trev):
        super().__init__()
        self.kind, self.kernel, self.sub, self.trev = kind, kernel, sub, trev
        self.l1 = torch.nn.Linear(d, o)
        self.l2 = torch.nn.Linear(d, o) if kind == 1 else None

    def layout(self):
        ps = [self.l1.weight, self.l1.bias]
        if self.l2 is not None:
            ps += [self.l2.weight, self.l2.bias]
        return ps

    def load_flat(self, flat):
        off = 0
        with torch.no_grad():
            for p in self.layout():
                n = p.numel()
                p.copy_(flat[off:off + n].reshape(p.shape))
                off += n
        assert off == flat.numel()

    def flat_grad(self):
        return torch.cat([p.grad.reshape(-1) for p in self.layout()])

    def forward(self, x):
        b, t, f = x.shape
        z = x - x[:, -1:, :] if self.sub else x
        if self.kind == 0:
            out = self.l1(z.reshape(b, t * f))
        else:
            tr, rem = decompose(z, self.kernel)
            out = self.l1(tr.reshape(b, t * f)) + self.l2(rem.reshape(b, t * f))
        if self.sub:
            out = out + x[:, -1, f - 1 - self.trev].unsqueeze(1)
        return out


def ridge_np(Z, Y, lam):
    """W (O x d), b (O) of the ridge problem, bias not penalized."""
    n = Z.shape[0]
    if lam == 0.0:
        A = np.hstack([Z, np.ones((n, 1))])
        sol, *_ = np.linalg.lstsq(A, Y, rcond=None)
        return sol[:-1].T, sol[-1]
    zm, ym = Z.mean(0), Y.mean(0)
    Zc, Yc = Z - zm, Y - ym
    W = np.linalg.solve(Zc.T @ Zc / n + lam * np.eye(Z.shape[1]), Zc.T @ Yc / n).T
    return W, ym - W @ zm


def write_ref(path, tensors):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<I", len(tensors)))
        for name, arr in tensors:
            nb = name.encode("ascii")
            f.write(struct.pack("<I", len(nb)))
            f.write(nb)
            f.write(struct.pack("<I", arr.ndim))
            f.write(struct.pack("<%dI" % arr.ndim, *arr.shape))
            f.write(np.ascontiguousarray(arr, dtype="<f8").tobytes())


def read_ref(path):
    with open(path, "rb") as f:
        buf = f.read()
    assert buf[:8] == MAGIC
    (count,), off = struct.unpack_from("<I", buf, 8), 12
    out = []
    for _ in range(count):
        (nl,) = struct.unpack_from("<I", buf, off); off += 4
        name = buf[off:off + nl].decode("ascii"); off += nl
        (nd,) = struct.unpack_from("<I", buf, off); off += 4
        dims = struct.unpack_from("<%dI" % nd, buf, off); off += 4 * nd
        n = int(np.prod(dims)) if nd else 1
        data = np.frombuffer(buf, dtype="<f8", count=n, offset=off).reshape(dims)
        off += 8 * n
        out.append((name, data))
    assert off == len(buf), "trailing bytes"
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="tests/ref/linear_ref.bin")
    args = ap.parse_args()
    torch.set_default_dtype(DT)
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    tensors = []

    def store(name, t):
        a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        a = np.asarray(a, dtype=np.float64)
        assert np.all(np.isfinite(a)), name
        assert all(n != name for n, _ in tensors), name
        tensors.append((name, a))

    D = T * F
    x = f32(rng.standard_normal((B, T, F)))
    store("sizes", torch.tensor([B, T, F, HZ, K], dtype=DT))
    store("x", x)

    # the torch decomposition against clamped indices, every kernel used
    for k in (1, 3, 5, 9, 15):
        tr, rem = decompose(x, k)
        trn, remn = decompose_np(x.numpy(), k)
        assert np.allclose(tr.numpy(), trn, rtol=0, atol=1e-14), k
        assert np.allclose(rem.numpy(), remn, rtol=0, atol=1e-14), k

    for tag, kind, dist, kernel, sub, trev in CASES:
        O = HZ * K if dist else HZ
        m = Lin(D, O, kind, kernel, sub, trev)
        n_par = (D + 1) * O * (2 if kind else 1)
        flat = f32(rng.uniform(-0.5, 0.5, n_par))
        m.load_flat(flat)
        g = f32(rng.standard_normal((B, O)))
        xx = x.clone().requires_grad_(True)
        out = m(xx)
        (out * g).sum().backward()
        # a hand check of the forward: NLinear without subtraction is W x + b
        if kind == 0 and not sub:
            W = flat[:O * D].reshape(O, D)
            bb = flat[O * D:]
            assert torch.allclose(out, x.reshape(B, D) @ W.T + bb, atol=1e-14)
        # the gradient of one parameter and one input by central differences
        with torch.no_grad():
            e = 1e-6
            for idx in (0, n_par - 1, n_par // 2):
                fp = flat.clone(); fp[idx] += e; m.load_flat(fp); lp = (m(x) * g).sum()
                fm = flat.clone(); fm[idx] -= e; m.load_flat(fm); lm = (m(x) * g).sum()
                assert abs((lp - lm) / (2 * e) - m.flat_grad()[idx]) < 1e-7, (tag, idx)
            m.load_flat(flat)
            for idx in (0, D - 1, D // 2):
                xp = x.clone().reshape(-1); xp[idx] += e
                xm = x.clone().reshape(-1); xm[idx] -= e
                num = ((m(xp.reshape(B, T, F)) * g).sum() - (m(xm.reshape(B, T, F)) * g).sum()) / (2 * e)
                assert abs(num - xx.grad.reshape(-1)[idx]) < 1e-7, (tag, idx)
        store(tag + "_cfg", torch.tensor([kind, dist, kernel, sub, trev, O], dtype=DT))
        store(tag + "_params", flat)
        store(tag + "_dout", g)
        store(tag + "_out", out)
        store(tag + "_dparams", m.flat_grad())
        store(tag + "_dx", xx.grad)

    # ---- closed-form fits --------------------------------------------------
    fd = FT * FF
    fx = rng.standard_normal((FN, FT, FF))
    fx = np.cumsum(fx, axis=1) * 0.5          # smooth-ish windows
    fx = np.asarray(fx, dtype=np.float32).astype(np.float64)
    wtrue = rng.standard_normal((FH, fd)) * 0.3
    yl = fx.reshape(FN, fd) @ wtrue.T + 0.2 + 0.1 * rng.standard_normal((FN, FH))
    fy = rng.standard_normal((FN, FT, FH))    # per-step targets; the last step is the target
    fy[:, FT - 1, :] = yl
    fy = np.asarray(fy, dtype=np.float32).astype(np.float64)
    Y = fy[:, FT - 1, :]
    store("fit_sizes", torch.tensor([FN, FT, FF, FH], dtype=DT))
    store("fit_x", fx)
    store("fit_y", fy)
    Zn = fx.reshape(FN, fd)
    fits = []
    # NLinear, lam 0 and 0.3
    for lam, tag in ((0.0, "fit_nl_l0"), (0.3, "fit_nl_l3")):
        W, b = ridge_np(Zn, Y, lam)
        fits.append((tag, [0, 0, 0, 0, lam], np.concatenate([W.reshape(-1), b])))
    # DLinear kernel 3, lam 0.3 and 0.01
    for lam, tag in ((0.3, "fit_dl_l3"), (0.01, "fit_dl_l01")):
        tr, rem = decompose_np(fx, 3)
        Z = np.hstack([tr.reshape(FN, fd), rem.reshape(FN, fd)])
        W, b = ridge_np(Z, Y, lam)
        fits.append((tag, [1, 3, 0, 0, lam], np.concatenate([W[:, :fd].reshape(-1), b, W[:, fd:].reshape(-1),
                                                               np.zeros(FH)])))
    # NLinear with subtract_last (target = feature F-1), lam 0.05
    last = fx[:, FT - 1, :]
    Zs = (fx - last[:, None, :]).reshape(FN, fd)
    W, b = ridge_np(Zs, Y - last[:, FF - 1:FF], 0.05)
    fits.append(("fit_nls_l05", [0, 0, 1, 0, 0.05], np.concatenate([W.reshape(-1), b])))
    # relative windows (last step 0, as KDTS_WNORM_LAST makes them), lam 0:
    # the minimum-norm solution gives the constant inputs weight 0
    rel = np.asarray(fx - last[:, None, :], dtype=np.float32).astype(np.float64)
    yrel = np.asarray(fy - last[:, None, FF - 1:FF], dtype=np.float32).astype(np.float64)
    assert np.all(rel[:, FT - 1, :] == 0.0)
    store("fit_relx", rel)
    store("fit_rely", yrel)
    W, b = ridge_np(rel.reshape(FN, fd), yrel[:, FT - 1, :], 0.0)
    assert np.all(np.abs(W[:, fd - FF:]) < 1e-12)
    fits.append(("fit_rel_l0", [0, 0, 0, 0, 0.0], np.concatenate([W.reshape(-1), b])))
    for tag, cfg, par in fits:
        store(tag + "_cfg", np.array(cfg, dtype=np.float64))
        store(tag + "_params", par)

    write_ref(args.out, tensors)
    back = read_ref(args.out)
    assert [n for n, _ in back] == [n for n, _ in tensors]
    for (n, a), (_, b2) in zip(tensors, back):
        assert a.shape == b2.shape and np.array_equal(a, b2), n
    print("torch %s, numpy %s, seed %d" % (torch.__version__, np.__version__, SEED))
    print("wrote %s: %d tensors, %d bytes" % (args.out, len(tensors), os.path.getsize(args.out)))
    for n, a in tensors:
        print("  %-18s %s" % (n, "x".join(str(d) for d in a.shape)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
