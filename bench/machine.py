"""What the numbers were measured on: CPU model, cores, memory, load average."""
from __future__ import annotations

import os
import platform
from pathlib import Path

import torch


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def mem_total_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def describe() -> str:
    return (f"{cpu_model()}, {os.cpu_count()} cores, {mem_total_gib():.1f} GiB RAM, Python {platform.python_version()}, "
            f"torch {torch.__version__} (CPU, {torch.get_num_threads()} thread(s)); load average {load_avg()}")
