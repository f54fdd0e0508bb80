#!/usr/bin/env python3
"""Write PyTorch reference vectors for the kdts GRU (tests/ref/gru_ref.bin).

The C test tests/test_gru.c reads the file through tests/ref_read.h, so the
tests themselves never need Python.  Run from the repository root:

    /usr/bin/python3 tools/gen_torch_ref_gru.py [--out PATH]

Everything is computed in float64 from inputs that are exactly
float32-representable (drawn as float32, then widened).  The file format is
the one of tools/gen_torch_ref.py (KDTSREF1, see tests/ref/README.md).

Model: a stacked GRU (torch.nn.GRU, gate order r, z, n, batch-first input)
followed by a linear head (torch.nn.Linear) applied to the top layer's
hidden state at every time step.  Flat parameter layout, in this order:
    for l in 0..L-1: weight_ih_l{l} (3H x I_l), weight_hh_l{l} (3H x H),
                     bias_ih_l{l} (3H), bias_hh_l{l} (3H)      (I_0 = F, else H)
    head weight (O x H), head bias (O)
Loss (the gradient of which is the `dout` the C test feeds to the backward):
    point mode: L = mean over b,t,j of (out - y)^2             (O = h)
    dist mode:  L = mean over b,t,j of -sum_k q_k log softmax(z)_k, with
                q_k proportional to exp(-(c_k - y)^2 / (2 sigma^2)),
                bins over [LO, HI], centres c_k, sigma = 1 bin  (O = h*K)
which are kdts_loss_eval's hard losses (weight 1, every step).
"""

import argparse
import os
import struct
import sys

import numpy as np
import torch

MAGIC = b"KDTSREF1"

# Sizes: B batch, T steps, F inputs, H hidden, L layers, horizon, K bins.
B, T, F, H, L, HORIZON, K = 3, 5, 2, 5, 2, 3, 5
LO, HI = -2.0, 2.0
SIGMA_IN_BINS = 1.0

SEED = 20261201
DT = torch.float64


def layout(out_dim):
    """List of (name, shape) in flat-vector order."""
    parts = []
    for l in range(L):
        inp = F if l == 0 else H
        parts.append(("weight_ih_l%d" % l, (3 * H, inp)))
        parts.append(("weight_hh_l%d" % l, (3 * H, H)))
        parts.append(("bias_ih_l%d" % l, (3 * H,)))
        parts.append(("bias_hh_l%d" % l, (3 * H,)))
    parts.append(("head.weight", (out_dim, H)))
    parts.append(("head.bias", (out_dim,)))
    return parts


def n_params(out_dim):
    return sum(int(np.prod(s)) for _, s in layout(out_dim))


def unflatten(flat, out_dim):
    pieces, off = {}, 0
    for name, shape in layout(out_dim):
        n = int(np.prod(shape))
        pieces[name] = flat[off:off + n].reshape(shape)
        off += n
    assert off == flat.numel()
    return pieces


class Model(torch.nn.Module):
    def __init__(self, out_dim):
        super().__init__()
        self.gru = torch.nn.GRU(input_size=F, hidden_size=H, num_layers=L,
                                batch_first=True, dtype=DT)
        self.head = torch.nn.Linear(H, out_dim, dtype=DT)
        self.out_dim = out_dim

    def module_param(self, name):
        if name.startswith("head."):
            return getattr(self.head, name[len("head."):])
        return getattr(self.gru, name)

    def load_flat(self, flat):
        pieces = unflatten(flat, self.out_dim)
        with torch.no_grad():
            for name, _ in layout(self.out_dim):
                p = self.module_param(name)
                assert tuple(p.shape) == tuple(pieces[name].shape), name
                p.copy_(pieces[name])

    def flat_params(self):
        return torch.cat([self.module_param(name).detach().reshape(-1)
                          for name, _ in layout(self.out_dim)])

    def ordered_params(self):
        return [self.module_param(name) for name, _ in layout(self.out_dim)]

    def forward(self, x, h0):
        top, hn = self.gru(x, h0)
        return self.head(top), top, hn


def manual_forward(flat, out_dim, x, h0):
    """Independent GRU written from the equations, used only as a check."""
    p = unflatten(flat, out_dim)
    seq = x
    hn = []
    for l in range(L):
        wih, whh = p["weight_ih_l%d" % l], p["weight_hh_l%d" % l]
        bih, bhh = p["bias_ih_l%d" % l], p["bias_hh_l%d" % l]
        h = h0[l]
        outs = []
        for t in range(T):
            gi = seq[:, t] @ wih.T + bih
            gh = h @ whh.T + bhh
            r = torch.sigmoid(gi[:, 0:H] + gh[:, 0:H])
            z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
            n = torch.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
            h = (1.0 - z) * n + z * h
            outs.append(h)
        seq = torch.stack(outs, dim=1)
        hn.append(h)
    out = seq @ p["head.weight"].T + p["head.bias"]
    return out, seq, torch.stack(hn)


def point_loss(out, y):
    return ((out - y) ** 2).mean()


def bin_centres():
    w = (HI - LO) / K
    return torch.tensor([LO + (k + 0.5) * w for k in range(K)], dtype=DT), w


def target_dist(y):
    c, w = bin_centres()
    sigma = SIGMA_IN_BINS * w
    e = -((c - y.unsqueeze(-1)) ** 2) / (2.0 * sigma * sigma)
    return torch.softmax(e, dim=-1)


def dist_loss(out, y):
    z = out.reshape(B, T, HORIZON, K)
    return (-(target_dist(y) * torch.log_softmax(z, dim=-1)).sum(-1)).mean()


def f32(a):
    """Round to float32, then widen to a float64 torch tensor."""
    return torch.from_numpy(np.asarray(a, dtype=np.float32).astype(np.float64))


def run_mode(tag, out_dim, rng, x, h0, y, loss_fn, store):
    flat = f32(rng.uniform(-0.6, 0.6, size=n_params(out_dim)))
    model = Model(out_dim)
    model.load_flat(flat)

    # The flat layout must round-trip, and match nn.GRU's own names/shapes.
    assert torch.equal(model.flat_params(), flat), "%s: layout does not round-trip" % tag
    named = dict(model.gru.named_parameters())
    for name, shape in layout(out_dim):
        if not name.startswith("head."):
            assert tuple(named[name].shape) == shape, name

    xg = x.clone().requires_grad_(True)
    h0g = h0.clone().requires_grad_(True)
    out, top, hn = model(xg, h0g)

    # The module must agree with the equations written out by hand.
    with torch.no_grad():
        m_out, m_top, m_hn = manual_forward(flat, out_dim, x, h0)
    for a, b, what in ((out, m_out, "out"), (top, m_top, "top_h"), (hn, m_hn, "hN")):
        err = (a.detach() - b).abs().max().item()
        assert err < 1e-13, "%s: %s differs from the manual GRU by %g" % (tag, what, err)

    outg = out.detach().clone().requires_grad_(True)
    loss = loss_fn(outg, y)
    (dout,) = torch.autograd.grad(loss, [outg])
    loss = loss_fn(out, y)
    wrt = model.ordered_params() + [xg, h0g]
    g = torch.autograd.grad(loss, wrt, retain_graph=True)
    dparams = torch.cat([t.reshape(-1) for t in g[:-2]])
    # Backpropagating dout through the model gives the same gradients.
    g2 = torch.autograd.grad(out, wrt, grad_outputs=dout)
    err = max((a - b).abs().max().item() for a, b in zip(g, g2))
    assert err < 1e-13, "%s: dout chain differs by %g" % (tag, err)

    # Finite-difference spot checks through the hand-written forward.
    def total_at(v, xv, hv):
        o, _, _ = manual_forward(v, out_dim, xv, hv)
        return loss_fn(o, y).item()
    base = [flat, x, h0]
    analytic = [dparams, g[-2], g[-1]]
    eps = 1e-6
    for which, count in ((0, 15), (1, 5), (2, 5)):
        numel = base[which].numel()
        for idx in np.linspace(0, numel - 1, count).astype(int):
            plus = [b.clone() for b in base]
            minus = [b.clone() for b in base]
            plus[which].view(-1)[idx] += eps
            minus[which].view(-1)[idx] -= eps
            fd = (total_at(*plus) - total_at(*minus)) / (2 * eps)
            an = analytic[which].reshape(-1)[idx].item()
            assert abs(fd - an) < 1e-8 + 1e-6 * abs(fd), \
                "%s: finite difference mismatch (input %d, entry %d): %g vs %g" % (tag, which, idx, fd, an)

    p = tag + "_"
    store(p + "params", flat)
    store(p + "out", out.detach())
    store(p + "hN", hn.detach())
    store(p + "top_h", top.detach())
    store(p + "loss", loss.detach().reshape(1))
    store(p + "dout", dout)
    store(p + "dparams", dparams)
    store(p + "dx", g[-2])
    store(p + "dh0", g[-1])


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
    ap.add_argument("--out", default="tests/ref/gru_ref.bin")
    args = ap.parse_args()

    torch.set_default_dtype(DT)
    torch.manual_seed(SEED)  # module init; overwritten by load_flat
    rng = np.random.default_rng(SEED)

    tensors = []

    def store(name, t):
        a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        a = np.asarray(a, dtype=np.float64)
        assert np.all(np.isfinite(a)), name
        assert all(n != name for n, _ in tensors), name
        tensors.append((name, a))

    x = f32(rng.standard_normal((B, T, F)))
    h0 = f32(rng.uniform(-0.8, 0.8, (L, B, H)))
    y = f32(rng.standard_normal((B, T, HORIZON)) * 0.8)

    store("sizes", torch.tensor([B, T, F, H, L, HORIZON, K], dtype=DT))
    store("hyper", torch.tensor([LO, HI, SIGMA_IN_BINS], dtype=DT))
    store("x", x)
    store("h0", h0)
    store("y", y)
    run_mode("pt", HORIZON, rng, x, h0, y, point_loss, store)
    run_mode("ds", HORIZON * K, rng, x, h0, y, dist_loss, store)

    write_ref(args.out, tensors)
    back = read_ref(args.out)
    assert [n for n, _ in back] == [n for n, _ in tensors]
    for (n, a), (_, b) in zip(tensors, back):
        assert a.shape == b.shape and np.array_equal(a, b), n

    print("torch %s, numpy %s, seed %d" % (torch.__version__, np.__version__, SEED))
    print("wrote %s: %d tensors, %d bytes" % (args.out, len(tensors), os.path.getsize(args.out)))
    for n, a in tensors:
        print("  %-12s %s" % (n, "x".join(str(d) for d in a.shape)))
    d = dict(tensors)
    print("  pt_loss = %.12g, ds_loss = %.12g" % (d["pt_loss"][0], d["ds_loss"][0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
