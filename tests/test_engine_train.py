"""The training engine on tiny models: it learns, it resumes exactly after kill -9, it runs under
DDP with equal replicas, and it refuses checkpoints it cannot trust."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from core.lm import checkpoint as ckpt
from core.lm.train import TrainConfig, train
from tests.conftest import ROOT

TINY = ["--n-layer", "2", "--n-head", "2", "--n-embd", "32", "--block-size", "32", "--batch-size", "8",
        "--sample-tokens", "20", "--threads", "1"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "plays.txt"
    text = (ROOT / "data" / "corpora" / "shakespeare.txt").read_text(encoding="utf-8")
    path.write_text(text[:120_000], encoding="utf-8")
    return path


def run_cli(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", "train", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def read_metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line]


def test_loss_decreases_and_the_result_reports_what_the_issue_asks(corpus, tmp_path):
    r = run_cli("--corpus", str(corpus), *TINY, "--max-iters", "60", "--lr", "3e-3", "--eval-interval", "30",
                "--eval-iters", "5", "--log-interval", "5", "--out", str(tmp_path / "run"), "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])
    for key in ("train_loss", "val_loss", "tokens_per_second", "wall_seconds", "steps"):
        assert key in result
    assert result["steps"] == 60
    assert result["tokens_per_second"] > 0
    evals = [m for m in read_metrics(tmp_path / "run") if "val_loss" in m]
    assert evals[-1]["val_loss"] < evals[0]["val_loss"] < 4.0  # ln(vocab) ~ 4.2 at initialisation
    assert evals[-1]["sample"]  # a sample at each evaluation
    model_dir = tmp_path / "run" / "model"
    assert (model_dir / "model.safetensors").is_file() and (model_dir / "tokenizer.json").is_file()


def test_kill_minus_9_then_resume_reaches_the_same_step_with_a_continuous_curve(corpus, tmp_path):
    common = ["--corpus", str(corpus), *TINY, "--max-iters", "80", "--lr", "3e-3", "--eval-interval", "20",
              "--eval-iters", "2", "--log-interval", "1", "--checkpoint-interval", "10"]
    # Reference: the same run, never interrupted.
    ref = run_cli(*common, "--out", str(tmp_path / "ref"), "--json", "--quiet")
    assert ref.returncode == 0, ref.stderr
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "core", "train", *common, "--out", str(out), "--quiet"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        state = out / "checkpoint" / "state.json"
        if state.is_file() and json.loads(state.read_text())["step"] >= 30:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = max(m["step"] for m in read_metrics(out))
    assert killed_at < 80, "the run finished before it could be killed"

    resumed = run_cli(*common, "--out", str(out), "--resume", "--json", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert result["steps"] == 80
    steps = [m["step"] for m in read_metrics(out) if "train_loss" in m]
    assert steps == list(range(1, 81))  # every step once: no gap, no duplicate after the crash
    # Exact continuation: model, optimizer, schedule, RNG and data order were all restored.
    ref_losses = [m["train_loss"] for m in read_metrics(tmp_path / "ref") if "train_loss" in m]
    losses = [m["train_loss"] for m in read_metrics(out) if "train_loss" in m]
    assert losses == pytest.approx(ref_losses, rel=1e-4)


def test_two_process_ddp_on_cpu_keeps_replicas_equal(corpus, tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    r = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node=2", "-m", "core", "train",
                        "--corpus", str(corpus), *TINY, "--max-iters", "12", "--eval-interval", "6",
                        "--eval-iters", "2", "--out", str(tmp_path / "ddp"), "--json", "--quiet"],
                       cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    results = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    assert len(results) == 1  # only rank 0 prints
    result = results[0]
    assert result["world_size"] == 2 and result["steps"] == 12
    a, b = result["replica_checksums"]
    assert a == b  # gradients were averaged: both ranks hold the same weights


def test_resume_refuses_a_corrupt_checkpoint_with_a_clear_message(corpus, tmp_path):
    out = tmp_path / "run"
    assert run_cli("--corpus", str(corpus), *TINY, "--max-iters", "4", "--eval-interval", "4", "--eval-iters", "1",
                   "--out", str(out), "--quiet").returncode == 0
    weights = out / "checkpoint" / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF  # one flipped byte in the tensor data
    weights.write_bytes(bytes(data))
    r = run_cli("--corpus", str(corpus), *TINY, "--max-iters", "8", "--out", str(out), "--resume")
    assert r.returncode == 2
    assert "corrupt" in r.stderr and "Traceback" not in r.stderr


def test_a_pickle_where_safetensors_belongs_is_refused_without_unpickling(tmp_path):
    bomb = tmp_path / "weights.safetensors"
    torch.save({"w": torch.zeros(2)}, bomb)  # a torch.save zip archive in disguise
    with pytest.raises(ckpt.CheckpointError, match="pickle"):
        ckpt.load_safetensors(bomb)
    (tmp_path / "model.pt").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(ckpt.CheckpointError, match="never unpickles"):
        ckpt.load_safetensors(tmp_path / "model.pt")
    truncated = tmp_path / "t.safetensors"
    truncated.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":")
    with pytest.raises(ckpt.CheckpointError, match="corrupt"):
        ckpt.load_safetensors(truncated)


def test_out_dir_with_a_checkpoint_needs_resume(corpus, tmp_path):
    out = tmp_path / "run"
    assert run_cli("--corpus", str(corpus), *TINY, "--max-iters", "2", "--eval-interval", "2", "--eval-iters", "1",
                   "--out", str(out), "--quiet").returncode == 0
    r = run_cli("--corpus", str(corpus), *TINY, "--max-iters", "4", "--out", str(out))
    assert r.returncode == 2 and "--resume" in r.stderr


@pytest.mark.parametrize("bad, message", [
    ({"n_embd": 30, "n_head": 4}, "divisible"),
    ({"lr": float("nan")}, "--lr"),
    ({"corpus": None}, "--corpus"),
    ({"base": "x", "task": None}, "--task"),
])
def test_bad_settings_are_refused_before_anything_runs(tmp_path, bad, message):
    config = TrainConfig(corpus="shakespeare", out=str(tmp_path / "x"))
    for key, value in bad.items():
        setattr(config, key, value)
    with pytest.raises(ValueError, match=message):
        train(config)
    assert not (tmp_path / "x").exists()


def test_gradient_accumulation_and_warmup_cosine_schedule(corpus, tmp_path):
    from core.lm.train import lr_lambda

    f = lr_lambda(TrainConfig(max_iters=100, warmup_iters=10, lr=1e-3, min_lr=1e-4))
    assert f(0) < f(5) < f(9) <= 1.0
    assert f(10) == pytest.approx(1.0, abs=0.02) and f(100) == pytest.approx(0.1)
    result = train(TrainConfig(corpus=str(corpus), out=str(tmp_path / "acc"), n_layer=1, n_head=2, n_embd=16,
                               block_size=16, batch_size=4, grad_accum=3, max_iters=3, eval_interval=3,
                               eval_iters=1, sample_tokens=5, threads=1))
    assert result["steps"] == 3
    assert result["tokens_per_second"] > 0
