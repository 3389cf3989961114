"""Runs as separate processes tracked in the store: start, live metrics, stop, resume, register."""
from __future__ import annotations

import time

import pytest

from core import runs as jobs
from core.lm import registry
from core.lm.train import TrainConfig
from tests.conftest import ROOT


def wait_for(predicate, timeout: float = 120.0, interval: float = 0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out")


@pytest.fixture()
def tiny_config(tmp_path) -> TrainConfig:
    corpus = tmp_path / "c.txt"
    corpus.write_text((ROOT / "data" / "corpora" / "shakespeare.txt").read_text()[:60_000])
    return TrainConfig(corpus=str(corpus), n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=8,
                       max_iters=3000, eval_interval=25, eval_iters=2, log_interval=5, sample_tokens=20,
                       lr=3e-3, threads=1)


def test_a_run_is_stopped_between_steps_then_resumed_to_the_end_and_registered(tiny_config):
    run_id = jobs.start_run(tiny_config)
    assert jobs.get_run(run_id).status in ("queued", "running")
    wait_for(lambda: jobs.get_run(run_id).step >= 30)
    jobs.request_stop(run_id)
    stopped = wait_for(lambda: (r := jobs.get_run(run_id)).status == "stopped" and r)
    assert 30 <= stopped.step < 3000
    assert (stopped.out_dir / "checkpoint" / "state.json").is_file()

    points = jobs.run_metrics(run_id)
    assert any(p["val_loss"] is not None and p["sample"] for p in points)  # eval curve + samples
    assert any(p["train_loss"] is not None and p["tokens_per_second"] for p in points)

    with pytest.raises(jobs.JobError, match="above the current step"):
        jobs.resume_run(run_id, max_iters=stopped.step)
    jobs.resume_run(run_id, max_iters=stopped.step + 20)
    done = wait_for(lambda: (r := jobs.get_run(run_id)).status == "finished" and r)
    assert done.step == stopped.step + 20
    steps = [p["step"] for p in jobs.run_metrics(run_id) if p["train_loss"] is not None]
    assert steps == sorted(set(steps))  # one curve, no duplicate points

    info = jobs.register_run_model(run_id, "studio-test-model")
    assert info.task == "generation" and info.metrics["val_loss"] > 0 and info.metrics["perplexity"] > 1
    assert "python -m core train" in info.card["command"]
    assert registry.get_model("studio-test-model").run_id == run_id
    registry.unregister_model("studio-test-model")


def test_a_killed_process_is_noticed_and_can_be_resumed(tiny_config):
    tiny_config.checkpoint_interval = 10
    run_id = jobs.start_run(tiny_config)
    wait_for(lambda: (jobs.get_run(run_id).out_dir / "checkpoint" / "state.json").is_file())
    jobs.kill_run(run_id)
    failed = wait_for(lambda: (r := jobs.get_run(run_id)).status == "failed" and r)
    assert "resume" in failed.error
    jobs.resume_run(run_id, max_iters=failed.step + 10)
    wait_for(lambda: jobs.get_run(run_id).status in ("finished", "failed"))
    assert jobs.get_run(run_id).status == "finished"


def test_config_diff_and_cli_command():
    a = TrainConfig(corpus="shakespeare", n_layer=4, lr=1e-3, out="runs/a")
    b = TrainConfig(corpus="shakespeare", n_layer=6, lr=1e-3, out="runs/b")
    assert jobs.config_diff(a.to_dict(), b.to_dict()) == [("n_layer", 4, 6)]
    cmd = jobs.cli_command(b)
    assert cmd.startswith("python -m core train --out runs/b") and "--n-layer 6" in cmd and "--lr" not in cmd
    assert jobs.cli_command(b, nproc=2).startswith("torchrun --standalone --nproc_per_node=2 -m core train")


def test_actions_on_unknown_or_finished_runs_are_clear_errors():
    with pytest.raises(jobs.JobError, match="no training run"):
        jobs.get_run("run-nope")


@pytest.mark.parametrize("config", [
    TrainConfig(corpus="shakespeare", n_layer=6, compile=True, out="runs/x"),
    TrainConfig(base="smollm2-135m-instruct", task="sentiment", data="data/tasks/sentiment/train.csv",
                lora=True, lr=1e-3, out="runs/y"),
    TrainConfig(base="smollm2-135m-instruct", task="qa", data="q.jsonl", out="runs/z"),
], ids=["scratch", "lora", "full"])
def test_the_shown_command_reproduces_the_config_exactly(config):
    import shlex

    from core.cli.train import build_parser, config_from_args

    argv = shlex.split(jobs.cli_command(config))[4:]  # after "python -m core train"
    assert config_from_args(build_parser().parse_args(argv)) == config


def _non_default(f, config):
    """A valid value for field f that differs from its default in config."""
    value = getattr(config, f.name)
    choices = f.metadata.get("choices")
    if choices:
        return next(c for c in choices if c != value)
    if isinstance(value, bool) or str(f.type) == "bool":
        return not value
    kind = str(f.type)
    if kind.startswith("int"):
        return (value or 1) + 1
    if kind.startswith("float"):
        return round((value or 0.1) * 0.5, 6) if f.name != "dropout" else 0.25
    return f"x-{f.name}"


@pytest.mark.parametrize("kind", ["scratch", "lora", "full"])
def test_every_train_config_field_round_trips_through_the_cli(kind):
    """Each TrainConfig field set to a non-default value -> to_argv() -> the CLI parser -> the same
    config: no field without a flag, no flag the CLI rejects (beta1 had none before)."""
    from dataclasses import fields

    from core.cli.train import build_parser, config_from_args

    base = {"scratch": {"corpus": "shakespeare"},
            "lora": {"base": "smollm2-135m-instruct", "task": "qa", "data": "q.jsonl", "lora": True},
            "full": {"base": "smollm2-135m-instruct", "task": "qa", "data": "q.jsonl"}}[kind]
    start = TrainConfig(out="runs/rt", **base)
    checked = 0
    for f in fields(TrainConfig):
        if f.name in ("out", "base", "lora", "resume", "run_id"):
            continue  # out is always written; base/lora pick the kind; resume/run_id belong to the launcher
        config = TrainConfig(out="runs/rt", **{**base, f.name: _non_default(f, start)})
        argv = config.to_argv()
        assert config_from_args(build_parser().parse_args(argv)) == config, (f.name, argv)
        checked += 1
    assert checked == len(fields(TrainConfig)) - 5
    # the kind-dependent defaults have one source: TrainConfig's metadata
    assert {k: getattr(start, k) for k in TrainConfig.kind_defaults(kind)} == TrainConfig.kind_defaults(kind)
