#!/usr/bin/env python3
"""PyTorch side of tools/bench.c: the same LSTM configurations with
torch.nn.LSTM + nn.Linear (head at every step for training, on the last
step for inference: the forecast), float32, 1 thread, Adam.

Prints lines "KEY MODEL SECONDS" with KEY one of
  train   forward + per-step MSE + backward + Adam step (median)
  infer1  forecast of one window under torch.no_grad() (median)
  inferB  forecast of a batch of 32 windows under torch.no_grad() (median)
Run by bench with OPENBLAS_CORETYPE=SkylakeX (Haswell without AVX-512) OMP_NUM_THREADS=1."""
import sys
import time

import torch

T, B, HZ = 96, 32, 24
CONFS = [("teacher", 1, 64, 2), ("student", 1, 16, 1), ("large", 7, 128, 2)]


class Net(torch.nn.Module):
    def __init__(self, inp, hid, layers):
        super().__init__()
        self.lstm = torch.nn.LSTM(inp, hid, layers, batch_first=True)
        self.head = torch.nn.Linear(hid, HZ)

    def forward(self, x):
        h, _ = self.lstm(x)
        return self.head(h)

    def forecast(self, x):
        h, _ = self.lstm(x)
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


def main():
    quick = "--quick" in sys.argv
    torch.set_num_threads(1)
    torch.manual_seed(0)
    for name, inp, hid, layers in CONFS:
        net = Net(inp, hid, layers).float()
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        x = torch.rand(B, T, inp) * 2 - 1
        y = torch.rand(B, T, HZ) * 2 - 1
        x1 = x[:1].contiguous()
        lossf = torch.nn.MSELoss()

        def step():
            opt.zero_grad()
            loss = lossf(net(x), y)
            loss.backward()
            opt.step()

        print("train %s %.6f" % (name, median(step, 5 if quick else 21)), flush=True)
        with torch.no_grad():
            print("infer1 %s %.7f" % (name, median(lambda: net.forecast(x1), 11 if quick else 31)), flush=True)
            print("inferB %s %.7f" % (name, median(lambda: net.forecast(x), 7 if quick else 15)), flush=True)


if __name__ == "__main__":
    main()
