#!/usr/bin/env python3
"""PyTorch side of tools/bench_gru.c: the same GRU configurations with
torch.nn.GRU + nn.Linear (head at every step for training, on the last step
for inference: the forecast), float32, 1 thread, Adam.

Prints lines "KEY MODEL SECONDS" with KEY one of
  train   forward + per-step MSE + backward + Adam step (median of 21)
  infer1  forecast of one window under torch.no_grad() (median of 31)
  inferB  forecast of a batch of 32 windows under torch.no_grad() (median of 15)
each after 3 untimed calls. Run by bench_gru with OPENBLAS_CORETYPE=SkylakeX (Haswell without AVX-512)
OMP_NUM_THREADS=1.

--serve: build the models once, then read commands "KEY MODEL N WARM" from
stdin, one a line (KEY as above), run WARM untimed and N timed calls and
answer with one line of the N times in seconds; "quit" or end of input
stops. bench_gru uses it to alternate groups of calls with its own, so
both sides see the same load on a shared machine."""
import sys
import time

import torch

T, B, HZ = 96, 32, 24
CONFS = [("teacher", 1, 64, 2), ("student", 1, 16, 1)]


class Net(torch.nn.Module):
    def __init__(self, inp, hid, layers):
        super().__init__()
        self.gru = torch.nn.GRU(inp, hid, layers, batch_first=True)
        self.head = torch.nn.Linear(hid, HZ)

    def forward(self, x):
        h, _ = self.gru(x)
        return self.head(h)

    def forecast(self, x):
        h, _ = self.gru(x)
        return self.head(h[:, -1])


def median(fn, reps, warm=3):
    for _ in range(warm):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]


class Conf:
    """One configuration: the network, Adam, a batch, and the three calls."""

    def __init__(self, inp, hid, layers):
        self.net = Net(inp, hid, layers).float()
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-3)
        self.x = torch.rand(B, T, inp) * 2 - 1
        self.y = torch.rand(B, T, HZ) * 2 - 1
        self.x1 = self.x[:1].contiguous()
        self.lossf = torch.nn.MSELoss()

    def train(self):
        self.opt.zero_grad()
        loss = self.lossf(self.net(self.x), self.y)
        loss.backward()
        self.opt.step()

    def infer1(self):
        with torch.no_grad():
            self.net.forecast(self.x1)

    def inferB(self):
        with torch.no_grad():
            self.net.forecast(self.x)


def times(fn, n, warm):
    for _ in range(warm):
        fn()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return ts


def serve(confs):
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "quit":
            break
        key, name, n, warm = parts[0], parts[1], int(parts[2]), int(parts[3])
        fn = getattr(confs[name], key)
        print(" ".join("%.9f" % t for t in times(fn, n, warm)), flush=True)


def main():
    quick = "--quick" in sys.argv
    torch.set_num_threads(1)
    torch.manual_seed(0)
    confs = {name: Conf(inp, hid, layers) for name, inp, hid, layers in CONFS}
    if "--serve" in sys.argv:
        print("ready", flush=True)
        serve(confs)
        return
    for name, _, _, _ in CONFS:
        c = confs[name]
        print("train %s %.6f" % (name, median(c.train, 7 if quick else 21)), flush=True)
        print("infer1 %s %.7f" % (name, median(c.infer1, 11 if quick else 31)), flush=True)
        print("inferB %s %.7f" % (name, median(c.inferB, 7 if quick else 15)), flush=True)


if __name__ == "__main__":
    main()
