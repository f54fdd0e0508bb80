#!/usr/bin/env python3
"""Write PyTorch reference vectors for the kdts causal self-attention model.

The output (default tests/ref/attn_ref.bin, KDTSREF1 format, see
tests/ref_read.h) is read by tests/test_attn.c, so the tests never need
Python.  Run from the repository root:

    /usr/bin/python3 tools/gen_torch_ref_attn.py [--out PATH]

The model is built from the real modules, in float64:
    nn.Linear(F, d)
    per block nn.TransformerEncoderLayer(d, heads, ff, dropout=0,
        activation, batch_first=True, norm_first=True), called with
        src_mask = the block's relative position bias as a float mask
        M[b*heads + j, i, t] = pos[j, i - t] for t <= i, -inf for t > i
    optionally nn.LayerNorm(d)     (nn.TransformerEncoder's final norm)
    nn.Linear(d, O)                (the per-step head)
with the flat kdts parameter vector loaded into them (layout below). Every
input is exactly float32-representable (drawn as float32, then widened).
The loss (point: per-step MSE; dist: cross-entropy of the bin softmax
against random target distributions) is differentiated by autograd; its
gradient w.r.t. the head outputs is stored as `dout`, which the C test
feeds to kdts_attn_backward, and every parameter gradient and dL/dx are
stored for comparison.

Flat parameter layout (kdts_attn):
    W_in (d,F), b_in (d)
    per block: self_attn.in_proj_weight (3d,d), in_proj_bias (3d),
               out_proj.weight (d,d), out_proj.bias (d),
               linear1.weight (ff,d), linear1.bias (ff),
               linear2.weight (d,ff), linear2.bias (d),
               norm1.weight, norm1.bias, norm2.weight, norm2.bias (d each),
               pos (heads, max_steps)
    final norm weight, bias (d each), when present
    head weight (O,d), head bias (O)
"""

import argparse
import math
import os
import struct
import sys

import numpy as np
import torch

MAGIC = b"KDTSREF1"
SEED = 20261201
DT = torch.float64

# name, F, d, heads, ff, blocks, activation, final_norm, max_steps, T, B,
# mode, horizon, bins
CONFS = [
    ("a", 3, 12, 2, 20, 2, "gelu", 1, 9, 7, 3, "point", 4, 0),
    ("b", 2, 16, 4, 24, 1, "relu", 0, 20, 17, 2, "dist", 2, 5),
    ("c", 1, 24, 3, 32, 3, "gelu", 1, 5, 5, 2, "point", 1, 0),
]


def layout(F, d, nh, ff, L, fn, S, O):
    parts = [("in.weight", (d, F)), ("in.bias", (d,))]
    for l in range(L):
        p = "layers.%d." % l
        parts += [(p + "self_attn.in_proj_weight", (3 * d, d)),
                  (p + "self_attn.in_proj_bias", (3 * d,)),
                  (p + "self_attn.out_proj.weight", (d, d)),
                  (p + "self_attn.out_proj.bias", (d,)),
                  (p + "linear1.weight", (ff, d)), (p + "linear1.bias", (ff,)),
                  (p + "linear2.weight", (d, ff)), (p + "linear2.bias", (d,)),
                  (p + "norm1.weight", (d,)), (p + "norm1.bias", (d,)),
                  (p + "norm2.weight", (d,)), (p + "norm2.bias", (d,)),
                  ("pos.%d" % l, (nh, S))]
    if fn:
        parts += [("norm.weight", (d,)), ("norm.bias", (d,))]
    parts += [("head.weight", (O, d)), ("head.bias", (O,))]
    return parts


class Net(torch.nn.Module):
    def __init__(self, F, d, nh, ff, L, act, fn, S, O):
        super().__init__()
        self.inp = torch.nn.Linear(F, d, dtype=DT)
        self.layers = torch.nn.ModuleList([
            torch.nn.TransformerEncoderLayer(d, nh, ff, dropout=0.0, activation=act,
                                             batch_first=True, norm_first=True, dtype=DT)
            for _ in range(L)])
        self.pos = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(nh, S, dtype=DT))
                                           for _ in range(L)])
        self.norm = torch.nn.LayerNorm(d, eps=1e-5, dtype=DT) if fn else None
        self.head = torch.nn.Linear(d, O, dtype=DT)
        self.nh = nh

    def param(self, name):
        if name.startswith("in."):
            return getattr(self.inp, name[3:])
        if name.startswith("pos."):
            return self.pos[int(name[4:])]
        if name.startswith("norm."):
            return getattr(self.norm, name[5:])
        if name.startswith("head."):
            return getattr(self.head, name[5:])
        obj = self
        for part in name.split("."):
            obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
        return obj

    def mask(self, l, B, T):
        i = torch.arange(T).view(T, 1)
        t = torch.arange(T).view(1, T)
        dist = (i - t).clamp(min=0)
        m = self.pos[l][:, dist]                                   # (nh, T, T)
        m = torch.where((t <= i).unsqueeze(0), m, torch.full_like(m, -math.inf))
        return m.unsqueeze(0).expand(B, self.nh, T, T).reshape(B * self.nh, T, T)

    def forward(self, x):
        B, T, _ = x.shape
        h = self.inp(x)
        for l, layer in enumerate(self.layers):
            h = layer(h, src_mask=self.mask(l, B, T))
        if self.norm is not None:
            h = self.norm(h)
        return self.head(h)


def manual(p, x, F, d, nh, ff, L, act, fn, S, O):
    """The same model written out from the equations (float64), as a check
    of the modules and of the mask convention."""
    B, T, _ = x.shape
    dh = d // nh

    def ln(v, g, b):
        mu = v.mean(-1, keepdim=True)
        var = ((v - mu) ** 2).mean(-1, keepdim=True)
        return (v - mu) / torch.sqrt(var + 1e-5) * g + b

    def actf(u):
        if act == "gelu":
            return 0.5 * u * (1.0 + torch.erf(u / math.sqrt(2.0)))
        return torch.clamp(u, min=0.0)

    h = x @ p["in.weight"].T + p["in.bias"]
    for l in range(L):
        q = "layers.%d." % l
        a = ln(h, p[q + "norm1.weight"], p[q + "norm1.bias"])
        qkv = a @ p[q + "self_attn.in_proj_weight"].T + p[q + "self_attn.in_proj_bias"]
        o = torch.zeros(B, T, d, dtype=DT)
        for j in range(nh):
            Q = qkv[:, :, j * dh:(j + 1) * dh]
            K = qkv[:, :, d + j * dh:d + (j + 1) * dh]
            V = qkv[:, :, 2 * d + j * dh:2 * d + (j + 1) * dh]
            s = Q @ K.transpose(1, 2) / math.sqrt(dh)
            for i in range(T):
                for t in range(T):
                    s[:, i, t] = s[:, i, t] + p["pos.%d" % l][j, i - t] if t <= i else -math.inf
            o[:, :, j * dh:(j + 1) * dh] = torch.softmax(s, -1) @ V
        h = h + o @ p[q + "self_attn.out_proj.weight"].T + p[q + "self_attn.out_proj.bias"]
        c = ln(h, p[q + "norm2.weight"], p[q + "norm2.bias"])
        u = c @ p[q + "linear1.weight"].T + p[q + "linear1.bias"]
        h = h + actf(u) @ p[q + "linear2.weight"].T + p[q + "linear2.bias"]
    if fn:
        h = ln(h, p["norm.weight"], p["norm.bias"])
    return h @ p["head.weight"].T + p["head.bias"]


def f32(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float32).astype(np.float64))


def run_conf(conf, rng, store):
    name, F, d, nh, ff, L, act, fn, S, T, B, mode, hz, K = conf
    O = hz * K if mode == "dist" else hz
    parts = layout(F, d, nh, ff, L, fn, S, O)
    pieces = {}
    for pname, shape in parts:
        n = int(np.prod(shape))
        if pname.endswith("norm1.weight") or pname.endswith("norm2.weight") or pname == "norm.weight":
            v = rng.uniform(0.6, 1.4, n)
        elif pname.startswith("pos."):
            v = rng.uniform(-1.0, 0.3, n)
        elif len(shape) == 2:
            v = rng.uniform(-1.0, 1.0, n) * 1.3 / math.sqrt(shape[1])
        else:
            v = rng.uniform(-0.3, 0.3, n)
        pieces[pname] = f32(v).reshape(shape)
    flat = torch.cat([pieces[n].reshape(-1) for n, _ in parts])

    net = Net(F, d, nh, ff, L, act, fn, S, O)
    net.train()
    with torch.no_grad():
        for pname, shape in parts:
            prm = net.param(pname)
            assert tuple(prm.shape) == tuple(shape), pname
            prm.copy_(pieces[pname])
    # the layout covers every parameter of the modules exactly once
    names = {id(net.param(n)) for n, _ in parts}
    assert names == {id(q) for q in net.parameters()}, "layout misses a parameter"
    assert sum(q.numel() for q in net.parameters()) == flat.numel()

    x = f32(rng.standard_normal((B, T, F)))
    xg = x.clone().requires_grad_(True)
    out = net(xg)
    out.retain_grad()
    with torch.no_grad():
        ref = manual(pieces, x, F, d, nh, ff, L, act, fn, S, O)
    err = (out.detach() - ref).abs().max().item()
    assert err < 1e-12, "%s: modules differ from the equations by %g" % (name, err)

    if mode == "point":
        y = f32(rng.standard_normal((B, T, hz)))
        lossf = lambda o: ((o - y) ** 2).mean()
    else:
        q = torch.softmax(f32(rng.standard_normal((B, T, hz, K)) * 1.5), -1)
        lossf = lambda o: (-(q * torch.log_softmax(o.reshape(B, T, hz, K), -1)).sum(-1)).mean()
    loss = lossf(out)
    loss.backward()
    dparams = torch.cat([net.param(n).grad.reshape(-1) for n, _ in parts])

    # finite-difference spot checks through the hand-written model
    def loss_at(fv, xv):
        pv, off = {}, 0
        for n, shape in parts:
            k = int(np.prod(shape))
            pv[n] = fv[off:off + k].reshape(shape)
            off += k
        return lossf(manual(pv, xv, F, d, nh, ff, L, act, fn, S, O)).item()
    eps = 1e-6
    for which, count in ((0, 12), (1, 3)):
        base = flat if which == 0 else x
        an = dparams if which == 0 else xg.grad
        for idx in np.linspace(0, base.numel() - 1, count).astype(int):
            pl, mi = base.clone(), base.clone()
            pl.view(-1)[idx] += eps
            mi.view(-1)[idx] -= eps
            if which == 0:
                fd = (loss_at(pl, x) - loss_at(mi, x)) / (2 * eps)
            else:
                fd = (loss_at(flat, pl) - loss_at(flat, mi)) / (2 * eps)
            a = an.reshape(-1)[idx].item()
            assert abs(fd - a) < 1e-7 + 1e-6 * abs(fd), "%s: FD %d/%d: %g vs %g" % (name, which, idx, fd, a)

    p = name + "_"
    store(p + "conf", torch.tensor([F, d, nh, ff, L, 0 if act == "gelu" else 1, fn, S, T, B,
                                    0 if mode == "point" else 1, hz, K], dtype=DT))
    store(p + "params", flat)
    store(p + "x", x)
    store(p + "out", out.detach())
    store(p + "loss", loss.detach().reshape(1))
    store(p + "dout", out.grad)
    store(p + "dparams", dparams)
    store(p + "dx", xg.grad)
    return flat.numel()


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
        out.append((name, np.frombuffer(buf, dtype="<f8", count=n, offset=off).reshape(dims)))
        off += 8 * n
    assert off == len(buf), "trailing bytes"
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="tests/ref/attn_ref.bin")
    args = ap.parse_args()
    torch.set_default_dtype(DT)
    torch.manual_seed(SEED)  # module init, overwritten
    rng = np.random.default_rng(SEED)
    tensors = []

    def store(name, t):
        a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        a = np.asarray(a, dtype=np.float64)
        assert np.all(np.isfinite(a)), name
        assert all(n != name for n, _ in tensors), name
        tensors.append((name, a))

    counts = [run_conf(c, rng, store) for c in CONFS]
    write_ref(args.out, tensors)
    back = read_ref(args.out)
    assert [n for n, _ in back] == [n for n, _ in tensors]
    for (n, a), (_, b) in zip(tensors, back):
        assert a.shape == b.shape and np.array_equal(a, b), n
    print("torch %s, numpy %s, seed %d" % (torch.__version__, np.__version__, SEED))
    print("wrote %s: %d tensors, %d bytes; parameters per config %s" %
          (args.out, len(tensors), os.path.getsize(args.out), counts))
    for n, a in tensors:
        print("  %-12s %s" % (n, "x".join(str(k) for k in a.shape)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
