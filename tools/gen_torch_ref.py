#!/usr/bin/env python3
"""Write PyTorch reference vectors for the kdts LSTM and distillation losses.

The output (default tests/ref/lstm_ref.bin) is read by the C tests through
tests/ref_read.h, so the tests themselves never need Python.  Run from the
repository root:

    /usr/bin/python3 tools/gen_torch_ref.py [--out PATH]

Everything is computed in float64 from inputs that are exactly
float32-representable (drawn as float32, then widened), so kdts can load the
same inputs in either precision and compare against exact references.

File format (little-endian):
    8 bytes  magic "KDTSREF1"
    uint32   number of tensors
    per tensor:
        uint32 name length, name bytes (ASCII, no NUL)
        uint32 ndim, uint32 dims[ndim]
        float64 data[prod(dims)], row-major

Model: a stacked LSTM (nn.LSTM equations, gate order i, f, g, o, batch-first
input) followed by a linear head applied to the top layer's hidden state at
every time step.  Flat parameter layout, in this order:
    for l in 0..L-1: weight_ih_l{l} (4H x I_l), weight_hh_l{l} (4H x H),
                     bias_ih_l{l} (4H), bias_hh_l{l} (4H)      (I_0 = F, else H)
    head weight (O x H), head bias (O)
"""

import argparse
import os
import struct
import sys

import numpy as np
import torch

MAGIC = b"KDTSREF1"

# Sizes.
B, T, F, H, L, HORIZON, K = 3, 5, 2, 4, 2, 3, 5
# Loss hyper-parameters.
ALPHA, BETA, TAU = 0.3, 0.7, 2.0
LO, HI = -2.0, 2.0
SIGMA_IN_BINS = 1.0

SEED = 20240611
DT = torch.float64


# --------------------------------------------------------------------------
# Parameter layout
# --------------------------------------------------------------------------

def layout(out_dim):
    """List of (name, shape) in flat-vector order."""
    parts = []
    for l in range(L):
        inp = F if l == 0 else H
        parts.append(("weight_ih_l%d" % l, (4 * H, inp)))
        parts.append(("weight_hh_l%d" % l, (4 * H, H)))
        parts.append(("bias_ih_l%d" % l, (4 * H,)))
        parts.append(("bias_hh_l%d" % l, (4 * H,)))
    parts.append(("head.weight", (out_dim, H)))
    parts.append(("head.bias", (out_dim,)))
    return parts


def n_params(out_dim):
    return sum(int(np.prod(s)) for _, s in layout(out_dim))


def unflatten(flat, out_dim):
    """Split a flat tensor into a dict name -> view of the given shape."""
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
        self.lstm = torch.nn.LSTM(input_size=F, hidden_size=H, num_layers=L,
                                  batch_first=True, dtype=DT)
        self.head = torch.nn.Linear(H, out_dim, dtype=DT)
        self.out_dim = out_dim

    def module_param(self, name):
        if name.startswith("head."):
            return getattr(self.head, name[len("head."):])
        return getattr(self.lstm, name)

    def load_flat(self, flat):
        pieces = unflatten(flat, self.out_dim)
        with torch.no_grad():
            for name, _ in layout(self.out_dim):
                p = self.module_param(name)
                assert tuple(p.shape) == tuple(pieces[name].shape), name
                p.copy_(pieces[name])

    def flat_of(self, tensors_by_name):
        return torch.cat([tensors_by_name[name].reshape(-1)
                          for name, _ in layout(self.out_dim)])

    def flat_params(self):
        return self.flat_of({name: self.module_param(name).detach()
                             for name, _ in layout(self.out_dim)})

    def ordered_params(self):
        return [self.module_param(name) for name, _ in layout(self.out_dim)]

    def forward(self, x, h0, c0):
        top, (hn, cn) = self.lstm(x, (h0, c0))
        return self.head(top), top, hn, cn


def manual_forward(flat, out_dim, x, h0, c0):
    """Independent LSTM written from the equations, used only as a check."""
    p = unflatten(flat, out_dim)
    seq = x
    hn, cn = [], []
    for l in range(L):
        wih, whh = p["weight_ih_l%d" % l], p["weight_hh_l%d" % l]
        bih, bhh = p["bias_ih_l%d" % l], p["bias_hh_l%d" % l]
        h, c = h0[l], c0[l]
        outs = []
        for t in range(T):
            g = seq[:, t] @ wih.T + bih + h @ whh.T + bhh
            i_g = torch.sigmoid(g[:, 0:H])
            f_g = torch.sigmoid(g[:, H:2 * H])
            g_g = torch.tanh(g[:, 2 * H:3 * H])
            o_g = torch.sigmoid(g[:, 3 * H:4 * H])
            c = f_g * c + i_g * g_g
            h = o_g * torch.tanh(c)
            outs.append(h)
        seq = torch.stack(outs, dim=1)
        hn.append(h)
        cn.append(c)
    out = seq @ p["head.weight"].T + p["head.bias"]
    return out, seq, torch.stack(hn), torch.stack(cn)


# --------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------

def point_losses(s, y, tv):
    hard = ((s - y) ** 2).mean()
    soft = ((s[:, T - 1, :] - tv[:, T - 1, :]) ** 2).mean()
    seq = ((s - tv) ** 2).mean()
    total = ALPHA * soft + (1.0 - ALPHA) * hard + BETA * seq
    return total, hard, soft, seq


def bin_centres():
    w = (HI - LO) / K
    return torch.tensor([LO + (k + 0.5) * w for k in range(K)], dtype=DT), w


def target_dist(y):
    """Gaussian soft-binned target q (..., K) for values y (...)."""
    c, w = bin_centres()
    sigma = SIGMA_IN_BINS * w
    e = -((c - y.unsqueeze(-1)) ** 2) / (2.0 * sigma * sigma)
    return torch.softmax(e, dim=-1)


def expected_value(z):
    c, _ = bin_centres()
    return (torch.softmax(z, dim=-1) * c).sum(-1)


def dist_losses(out, y, pt, et):
    z = out.reshape(B, T, HORIZON, K)
    logp = torch.log_softmax(z, dim=-1)
    q = target_dist(y)
    hard = (-(q * logp).sum(-1)).mean()
    log_ps = torch.log_softmax(z[:, T - 1] / TAU, dim=-1)
    soft = TAU * TAU * (pt * (torch.log(pt) - log_ps)).sum(-1).mean()
    ev = expected_value(z)
    seq = ((ev - et) ** 2).mean()
    total = ALPHA * soft + (1.0 - ALPHA) * hard + BETA * seq
    return total, hard, soft, seq


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

def f32(a):
    """Round to float32, then widen to a float64 torch tensor."""
    return torch.from_numpy(np.asarray(a, dtype=np.float32).astype(np.float64))


def run_mode(tag, out_dim, rng, x, h0, c0, loss_fn, loss_args, store):
    flat = f32(rng.uniform(-0.5, 0.5, size=n_params(out_dim)))
    model = Model(out_dim)
    model.load_flat(flat)

    # The flat layout must round-trip through the modules' parameters.
    back = model.flat_params()
    assert back.shape == flat.shape and torch.equal(back, flat), \
        "%s: flat layout does not round-trip" % tag
    # Also check by name against nn.LSTM's own parameter listing.
    named = dict(model.lstm.named_parameters())
    for name, shape in layout(out_dim):
        if not name.startswith("head."):
            assert tuple(named[name].shape) == shape, name

    xg = x.clone().requires_grad_(True)
    h0g = h0.clone().requires_grad_(True)
    c0g = c0.clone().requires_grad_(True)
    out, top, hn, cn = model(xg, h0g, c0g)

    # The module must agree with the equations written out by hand.
    with torch.no_grad():
        m_out, m_top, m_hn, m_cn = manual_forward(flat, out_dim, x, h0, c0)
    for a, b, what in ((out, m_out, "out"), (top, m_top, "top_h"),
                       (hn, m_hn, "hN"), (cn, m_cn, "cN")):
        err = (a.detach() - b).abs().max().item()
        assert err < 1e-13, "%s: %s differs from manual LSTM by %g" % (tag, what, err)

    losses = loss_fn(out, *loss_args)
    wrt = model.ordered_params() + [xg, h0g, c0g]
    grads = []
    for i, term in enumerate(losses):
        grads.append(torch.autograd.grad(term, wrt, retain_graph=(i + 1 < len(losses))))

    def flat_grad(g):
        return torch.cat([t.reshape(-1) for t in g[:len(wrt) - 3]])

    g_total, g_hard, g_soft, g_seq = grads
    # The combined gradient must equal the weighted sum of the terms.
    combo = ALPHA * flat_grad(g_soft) + (1 - ALPHA) * flat_grad(g_hard) + BETA * flat_grad(g_seq)
    err = (combo - flat_grad(g_total)).abs().max().item()
    assert err < 1e-12, "%s: gradient of L is not the weighted sum (%g)" % (tag, err)

    # Finite-difference spot checks of a few gradient entries (flat params,
    # x, h0, c0) using the hand-written forward, independent of autograd
    # through nn.LSTM.
    def total_at(v, xv, hv, cv):
        o, _, _, _ = manual_forward(v, out_dim, xv, hv, cv)
        return loss_fn(o, *loss_args)[0].item()
    base = [flat, x, h0, c0]
    analytic = [flat_grad(g_total), g_total[-3], g_total[-2], g_total[-1]]
    eps = 1e-6
    for which, count in ((0, 9), (1, 3), (2, 3), (3, 3)):
        numel = base[which].numel()
        for idx in np.linspace(0, numel - 1, count).astype(int):
            plus = [b.clone() for b in base]
            minus = [b.clone() for b in base]
            plus[which].view(-1)[idx] += eps
            minus[which].view(-1)[idx] -= eps
            fd = (total_at(*plus) - total_at(*minus)) / (2 * eps)
            an = analytic[which].reshape(-1)[idx].item()
            assert abs(fd - an) < 1e-7 + 1e-6 * abs(fd), \
                "%s: finite difference mismatch (input %d, entry %d): %g vs %g" % (
                    tag, which, idx, fd, an)

    p = tag + "_"
    store(p + "params", flat)
    store(p + "out", out.detach())
    store(p + "hN", hn.detach())
    store(p + "cN", cn.detach())
    store(p + "loss", torch.stack([t.detach() for t in losses]))
    store(p + "dparams", flat_grad(g_total))
    store(p + "dx", g_total[-3])
    store(p + "dh0", g_total[-2])
    store(p + "dc0", g_total[-1])
    store(p + "dparams_hard", flat_grad(g_hard))
    store(p + "dparams_soft", flat_grad(g_soft))
    store(p + "dparams_seq", flat_grad(g_seq))
    return out.detach(), top.detach()


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
    """Parse the file back (used to verify what was written)."""
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
    ap.add_argument("--out", default="tests/ref/lstm_ref.bin")
    args = ap.parse_args()

    torch.set_default_dtype(DT)
    torch.manual_seed(SEED)  # nn.Linear/LSTM init; overwritten anyway
    rng = np.random.default_rng(SEED)

    tensors = []

    def store(name, t):
        a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        a = np.asarray(a, dtype=np.float64)
        assert np.all(np.isfinite(a)), name
        assert all(n != name for n, _ in tensors), name
        tensors.append((name, a))

    # Shared inputs, all float32-representable.
    x = f32(rng.standard_normal((B, T, F)))
    h0 = f32(rng.uniform(-0.5, 0.5, (L, B, H)))
    c0 = f32(rng.uniform(-0.5, 0.5, (L, B, H)))
    y = f32(rng.standard_normal((B, T, HORIZON)) * 0.8)
    tv = f32(y.numpy() + 0.3 * rng.standard_normal((B, T, HORIZON)))
    t_logits = f32(rng.standard_normal((B, HORIZON, K)) * 1.5)
    ds_pt = torch.softmax(t_logits / TAU, dim=-1)
    ds_et = f32(rng.uniform(-1.5, 1.5, (B, T, HORIZON)))

    store("sizes", torch.tensor([B, T, F, H, L, HORIZON, K], dtype=DT))
    store("x", x)
    store("h0", h0)
    store("c0", c0)
    store("y", y)
    store("tv", tv)
    store("ds_pt", ds_pt)
    store("ds_et", ds_et)
    store("hyper", torch.tensor([ALPHA, BETA, TAU, LO, HI, SIGMA_IN_BINS], dtype=DT))

    _, pt_top = run_mode("pt", HORIZON, rng, x, h0, c0, point_losses, (y, tv), store)
    store("pt_top_h", pt_top)

    ds_out, _ = run_mode("ds", HORIZON * K, rng, x, h0, c0, dist_losses,
                         (y, ds_pt, ds_et), store)
    # Intermediate values of the distribution losses, for debugging.
    store("ds_q", target_dist(y))
    store("ds_ev", expected_value(ds_out.reshape(B, T, HORIZON, K)))

    write_ref(args.out, tensors)

    back = read_ref(args.out)
    assert [n for n, _ in back] == [n for n, _ in tensors]
    for (n, a), (_, b) in zip(tensors, back):
        assert a.shape == b.shape and np.array_equal(a, b), n

    print("torch %s, numpy %s, seed %d" % (torch.__version__, np.__version__, SEED))
    print("wrote %s: %d tensors, %d bytes" % (args.out, len(tensors), os.path.getsize(args.out)))
    for n, a in tensors:
        print("  %-16s %s" % (n, "x".join(str(d) for d in a.shape)))
    d = dict(tensors)
    print("  pt_loss = %s" % np.array2string(d["pt_loss"], precision=10))
    print("  ds_loss = %s" % np.array2string(d["ds_loss"], precision=10))
    return 0


if __name__ == "__main__":
    sys.exit(main())
