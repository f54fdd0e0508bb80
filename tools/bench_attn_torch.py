#!/usr/bin/env python3
"""PyTorch side of tools/bench_attn.c: the same attention model with
nn.Linear + per block nn.TransformerEncoderLayer(norm_first=True,
batch_first=True, dropout=0) called with the block's relative position bias
as a float causal mask (-inf above the diagonal), a final nn.LayerNorm and
an nn.Linear head; float32, 1 thread, Adam.

usage: bench_attn_torch.py D BLOCKS HEADS FF ACT FINAL_NORM T B HORIZON [--quick|--serve]

Prints lines "KEY SECONDS CPU_SECONDS" with KEY one of
  train   forward + per-step MSE + backward + Adam step
  infer1  forecast of one window under torch.no_grad()
  inferB  forecast of a batch of B windows under torch.no_grad()
SECONDS is the median wall time, CPU_SECONDS the median process CPU time
(time.process_time) of the same repetitions.
The forecast runs every block at every step and the head on the last one.
--serve: print "ready", then answer each line "KEY NAME N WARM" of standard
input (NAME is ignored) with WARM untimed and N timed calls of KEY: one line
of N wall seconds followed by the N processor seconds; "quit" ends (the
protocol of tools/bench_srv.h).
Run by bench_attn with OPENBLAS_CORETYPE=SkylakeX (Haswell without AVX-512) OMP_NUM_THREADS=1."""
import math
import sys
import time

import torch


class Net(torch.nn.Module):
    def __init__(self, d, L, nh, ff, act, fn, T, O):
        super().__init__()
        self.inp = torch.nn.Linear(1, d)
        self.layers = torch.nn.ModuleList([
            torch.nn.TransformerEncoderLayer(d, nh, ff, dropout=0.0, activation=act,
                                             batch_first=True, norm_first=True)
            for _ in range(L)])
        slopes = torch.tensor([2.0 ** (-8.0 * (j + 1) / nh) for j in range(nh)])
        self.pos = torch.nn.ParameterList([
            torch.nn.Parameter(-slopes.view(nh, 1) * torch.arange(T).view(1, T).float())
            for _ in range(L)])
        self.norm = torch.nn.LayerNorm(d) if fn else None
        self.head = torch.nn.Linear(d, O)
        self.nh = nh
        i = torch.arange(T).view(T, 1)
        t = torch.arange(T).view(1, T)
        self.register_buffer("dist", (i - t).clamp(min=0))
        self.register_buffer("causal", (t <= i).unsqueeze(0))

    def body(self, x):
        B, T, _ = x.shape
        h = self.inp(x)
        for l, layer in enumerate(self.layers):
            m = self.pos[l][:, self.dist[:T, :T]]
            m = torch.where(self.causal[:, :T, :T], m, torch.full_like(m, -math.inf))
            m = m.unsqueeze(0).expand(B, self.nh, T, T).reshape(B * self.nh, T, T)
            h = layer(h, src_mask=m)
        if self.norm is not None:
            h = self.norm(h)
        return h

    def forward(self, x):
        return self.head(self.body(x))

    def forecast(self, x):
        return self.head(self.body(x)[:, -1])


def times(fn, n, warm):
    """Wall and processor seconds of each of n calls after warm untimed ones."""
    for _ in range(warm):
        fn()
    ts, cs = [], []
    for _ in range(n):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
        cs.append(time.process_time() - c0)
    return ts + cs


def median(fn, reps, warm=3):
    """Median wall and median CPU seconds of fn over reps runs."""
    t = times(fn, reps, warm)
    ts, cs = sorted(t[:reps]), sorted(t[reps:])
    return "%.7f %.7f" % (ts[reps // 2], cs[reps // 2])


def serve(fns):
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "quit":
            break
        key, n, warm = parts[0], int(parts[2]), int(parts[3])
        print(" ".join("%.9f" % t for t in times(fns[key], n, warm)), flush=True)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    quick = "--quick" in sys.argv
    d, L, nh, ff = (int(a) for a in args[:4])
    act = args[4]
    fn, T, B, hz = (int(a) for a in args[5:9])
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = Net(d, L, nh, ff, act, fn, T, hz).float()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.rand(B, T, 1) * 2 - 1
    y = torch.rand(B, T, hz) * 2 - 1
    x1 = x[:1].contiguous()
    lossf = torch.nn.MSELoss()

    def step():
        opt.zero_grad()
        loss = lossf(net(x), y)
        loss.backward()
        opt.step()

    def infer1():
        with torch.no_grad():
            net.forecast(x1)

    def inferB():
        with torch.no_grad():
            net.forecast(x)

    if "--serve" in sys.argv:
        net.train()
        print("ready", flush=True)
        serve({"train": step, "infer1": infer1, "inferB": inferB})
        return
    net.train()
    print("train %s" % median(step, 5 if quick else 21), flush=True)
    net.eval()
    with torch.no_grad():
        print("infer1 %s" % median(lambda: net.forecast(x1), 11 if quick else 31), flush=True)
        print("inferB %s" % median(lambda: net.forecast(x), 7 if quick else 15), flush=True)


if __name__ == "__main__":
    main()
