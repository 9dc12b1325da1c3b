"""PyTorch side of benchmarks/compare.sh: the issue-9 workloads, one per invocation.

Run with Debian's python3-torch (/usr/bin/python3). Prints machine-readable lines
``RESULT <name> <value> <unit>`` that compare.py collects; everything else is commentary.
The Java twin is dev.kiln.benchmarks.Workloads: keep the two in step.
"""

import argparse
import gzip
import os
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

FASHION = "/usr/share/datasets/fashion-mnist"


def result(name, value, unit):
    print(f"RESULT {name} {value:.6g} {unit}", flush=True)


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    t = torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8)
    return t.reshape(shape)


def fashion(train):
    prefix = "train" if train else "t10k"
    images = read_idx(os.path.join(FASHION, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(FASHION, f"{prefix}-labels-idx1-ubyte.gz")).long()
    # ToTensor + Normalize(0.5, 0.5), done once for the whole split as the Kiln side's batch transform does.
    x = images.float().div_(255).sub_(0.5).div_(0.5).unsqueeze(1)
    return x, labels


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x.view(-1, 28 * 28))))


class Cnn(nn.Module):
    """The cnn sample's network: 1x28x28 -> 32x13x13 -> 64x5x5 -> 1600 -> 128 -> 10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(1600, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


def train_epochs(model, epochs, limit, name):
    x, y = fashion(True)
    if limit:
        x, y = x[:limit], y[:limit]
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(epochs):
        model.train()
        start = time.perf_counter()
        for inputs, targets in loader:
            loss = criterion(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - start
        print(f"{name} epoch {epoch + 1}: {seconds:.3f} s, last loss {loss.item():.4f}", flush=True)
        result(f"{name}_epoch{epoch + 1}", seconds, "s")


def sgemm(sizes, seconds):
    for n in sizes:
        a = torch.rand(n, n) - 0.5
        b = torch.rand(n, n) - 0.5
        c = torch.empty(n, n)
        for _ in range(3):
            torch.mm(a, b, out=c)
        best = []
        # Five rounds of about `seconds` each; report the median round, as JMH's iterations do.
        for _ in range(5):
            calls = 0
            start = time.perf_counter()
            while True:
                torch.mm(a, b, out=c)
                calls += 1
                elapsed = time.perf_counter() - start
                if elapsed >= seconds:
                    break
            best.append(2.0 * n ** 3 * calls / elapsed / 1e9)
        best.sort()
        result(f"sgemm{n}", best[len(best) // 2], "GFLOP/s")


def mlp_adam(rows, steps):
    torch.manual_seed(0)
    model = nn.Sequential()
    model.layer1 = nn.Linear(10, 100)
    model.relu = nn.ReLU()
    model.layer2 = nn.Linear(100, 1)
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    x = torch.randn(rows, 10)
    y = torch.randn(rows, 1)
    for step in range(steps):
        start = time.perf_counter()
        loss = criterion(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        value = loss.item()
        seconds = time.perf_counter() - start
        print(f"mlp-adam step {step + 1}: {seconds:.3f} s, loss {value:.4f}", flush=True)
        result(f"mlpadam_step{step + 1}", seconds, "s")
    result("mlpadam_peak_rss", peak_rss_mb(), "MB")


def inference(passes):
    torch.manual_seed(0)
    model = Mlp()
    model.eval()
    x, _ = fashion(False)
    batches = list(torch.split(x, 1000))
    with torch.no_grad():
        for p in range(passes):
            start = time.perf_counter()
            for batch in batches:
                model(batch).argmax(1)
            seconds = time.perf_counter() - start
            result(f"inference_pass{p + 1}", x.shape[0] / seconds, "images/s")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("workload", choices=["sgemm", "mlp", "cnn", "mlp-adam", "inference"])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--limit", type=int, default=0, help="train on the first N images only (quick checks)")
    p.add_argument("--rows", type=int, default=2_000_000)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--passes", type=int, default=20)
    p.add_argument("--sizes", default="256,512,1024,2048")
    p.add_argument("--seconds", type=float, default=1.0)
    a = p.parse_args()
    torch.set_num_threads(2)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"LD_PRELOAD={os.environ.get('LD_PRELOAD', '')}", file=sys.stderr)
    torch.manual_seed(0)
    if a.workload == "sgemm":
        sgemm([int(s) for s in a.sizes.split(",")], a.seconds)
    elif a.workload == "mlp":
        train_epochs(Mlp(), a.epochs, a.limit, "mlp")
    elif a.workload == "cnn":
        train_epochs(Cnn(), a.epochs, a.limit, "cnn")
    elif a.workload == "mlp-adam":
        mlp_adam(a.rows, a.steps)
    else:
        inference(a.passes)


if __name__ == "__main__":
    main()
