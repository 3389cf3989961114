"""Hostile input, generated: every CLI command (called in-process through `core.__main__.main`) and
every form's core validator, fed text, numbers, NaN/inf, huge values, unicode, control characters
and empty strings. The contract: no traceback ever; a refusal is exit code 2 with exactly one
`error: ...` line on stderr (CLI) or the validator's own error type with a non-empty message."""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from core.__main__ import main as cli_main
from tests.conftest import ROOT

# Fixed examples in the suite (fast, repeatable); OPPLAB_HYPOTHESIS_EXAMPLES=500 searches afresh, deeper.
_DEEP = int(os.environ.get("OPPLAB_HYPOTHESIS_EXAMPLES", "0"))
FAST = settings(max_examples=_DEEP or 60, deadline=None, derandomize=not _DEEP, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
SLOW = settings(FAST, max_examples=_DEEP // 3 or 15)

# ------------------------------------------------------------------ hostile values
numbers = st.one_of(
    st.integers(min_value=-10**30, max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "NaN", "inf", "-inf", "1e309", "-0", "0", "1", "7B", "1.4T", "1e999", "0x10", "1_000",
                     "９", "½", "", " ", "--", "-1", "2**63", "9" * 400]),
)
texts = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "So", "Lo"]), max_size=20),
    st.sampled_from(["", " ", "\x00", "\n", "../../x", "/etc/passwd", "a" * 5000, "😀", "名字", "<b>x</b>", "'; drop table x; --"]),
)
values = st.one_of(numbers, texts)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli_main(argv)
    return rc, out.getvalue(), err.getvalue()


def _strict_json(text: str):
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")
    return json.loads(text, parse_constant=refuse)


def check_cli(argv: list[str], json_out: bool = False) -> int:
    rc, out, err = run_cli(argv)
    event(f"exit code {rc}")
    assert "Traceback" not in err + out, (argv, err)
    assert rc in (0, 2), (argv, rc, err)
    if rc == 2:
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: ") and len(lines[0]) > 12, (argv, err)
    elif json_out:
        _strict_json(out.strip().splitlines()[-1])  # valid JSON: no NaN/Infinity leaks
    return rc


def flags(spec: dict[str, st.SearchStrategy], max_flags: int | None = None) -> st.SearchStrategy[list[str]]:
    """A subset of the flags, each with a value (or none, to test a missing value)."""
    def build(chosen):
        argv = []
        for name, value in chosen:
            argv.append(name)
            if value is not None:
                argv.append(value)
        return argv
    pairs = [st.tuples(st.just(k), st.one_of(v, st.none() if i % 5 == 0 else v)) for i, (k, v) in enumerate(spec.items())]
    return st.lists(st.one_of(*pairs), max_size=max_flags or len(spec) + 2).map(build)


# ------------------------------------------------------------------ CLI commands
ACCELERATORS = st.one_of(st.sampled_from(["a100_80gb", "h100_sxm", "t4"]), texts)
PRESETS = st.one_of(st.sampled_from(["llama2_7b", "llama2_70b"]), texts)
TRAINING = {"--params": numbers, "--tokens": numbers, "--accelerator": ACCELERATORS, "--count": numbers,
            "--mfu": numbers, "--tokens-per-second": numbers, "--price": numbers, "--pue": numbers}
ARCH = {"--preset": PRESETS, "--params": numbers, "--layers": numbers, "--hidden": numbers, "--heads": numbers,
        "--kv-heads": numbers, "--ffn-hidden": numbers, "--vocab": numbers}
MEMORY = ARCH | {"--method": st.one_of(st.sampled_from(["full", "lora", "qlora"]), texts), "--seq-len": numbers,
                 "--micro-batch": numbers, "--recompute": st.sampled_from(["none", "selective", "full", "x"]),
                 "--zero": numbers, "--count": numbers, "--tp": numbers, "--pp": numbers, "--lora-rank": numbers,
                 "--accelerator": ACCELERATORS}
INFERENCE = ARCH | {"--accelerator": ACCELERATORS, "--count": numbers, "--dtype": st.sampled_from(["bf16", "int4", "x"]),
                    "--kv-dtype": st.sampled_from(["fp32", "int8", ""]), "--batch": numbers, "--prompt-tokens": numbers,
                    "--output-tokens": numbers, "--efficiency": numbers, "--price": numbers}


@FAST
@given(st.sampled_from(["training", "memory", "inference", "validate", "accelerators"]), st.data())
def test_cli_estimate_never_tracebacks(what, data):
    base = {"training": ["--params", "7B", "--tokens", "1T", "--accelerator", "a100_80gb", "--count", "8"],
            "memory": ["--preset", "llama2_7b"], "inference": ["--preset", "llama2_7b", "--accelerator", "t4"]}
    spec = {"training": TRAINING, "memory": MEMORY, "inference": INFERENCE,
            "validate": {"--default-mfu": numbers}, "accelerators": {"--x": values}}[what]
    keep_base = data.draw(st.sampled_from([True, True, True, False]))  # mostly one or two bad values in a good call
    extra = data.draw(flags(spec, max_flags=2 if keep_base else None))
    check_cli(["estimate", what, *(base.get(what, []) if keep_base else []), *extra, "--json"], json_out=True)


EXPLORE = {"--weight": st.one_of(st.builds(lambda k, v: f"{k}={v}", st.sampled_from(["market", "privacy", "x", ""]),
                                           numbers), texts),
           "--domain": st.one_of(st.sampled_from(["finance", "medical"]), texts),
           "--task": texts, "--risk": st.sampled_from(["low", "high", "x"]), "--min-size": numbers,
           "--max-size": numbers, "--search": texts, "--scenario": texts, "--top": numbers}


@FAST
@given(flags(EXPLORE), st.booleans())
def test_cli_explore_never_tracebacks(argv, as_json):
    check_cli(["explore", *argv] + (["--json"] if as_json else []), json_out=as_json)


@FAST
@given(st.one_of(st.sampled_from(["/nonexistent/dir/x.csv", "", "\x00x", "/", ".", "a/b/c.csv"]),
                # generated names stay relative and inside tmp_path: as root, an absolute sample
                # such as /etc/passwd would really be overwritten
                texts.map(lambda t: t.replace("..", "_").lstrip("/~") or "x")))
def test_cli_explore_csv_path_never_tracebacks(tmp_path, monkeypatch, path):
    monkeypatch.chdir(tmp_path)  # relative names land here, not in the repository
    check_cli(["explore", "--top", "1", "--csv", path])


@FAST
@given(st.lists(values, max_size=3))
def test_cli_unknown_commands_and_models_flags_never_traceback(argv):
    check_cli(argv)
    check_cli(["models", *argv])


TRAIN_INTS = ["--vocab-size", "--n-layer", "--n-head", "--n-embd", "--block-size", "--lora-r", "--lora-alpha",
              "--batch-size", "--grad-accum", "--max-iters", "--warmup-iters", "--eval-interval", "--eval-iters",
              "--log-interval", "--checkpoint-interval", "--sample-tokens", "--seed", "--threads"]
TRAIN_FLOATS = ["--dropout", "--lr", "--min-lr", "--weight-decay", "--beta2", "--grad-clip"]


@SLOW
@given(st.data())
def test_cli_train_argument_validation_never_tracebacks(tmp_path_factory, data):
    """Every flag hostile; the corpus or base never exists, so a config that passes validation stops
    at its data with a message instead of training."""
    out = tmp_path_factory.mktemp("train")

    def absent(t: str) -> bool:
        try:
            return bool(t.strip()) and not Path(t).exists()
        except (OSError, ValueError):
            return True
    spec = {k: numbers for k in TRAIN_INTS + TRAIN_FLOATS} | {
        "--tokenizer": st.sampled_from(["char", "bpe", "x"]), "--activation": st.sampled_from(["gelu", "relu"]),
        "--task": st.sampled_from(["qa", "sentiment", "x"]), "--device": st.sampled_from(["cpu", "tpu"]),
        "--corpus": st.one_of(st.just("no-such-corpus"), st.just("~no-such-user/x"), texts.filter(absent)),
        "--base": st.one_of(st.just("~no-such-user"), texts.filter(absent)), "--data": texts, "--val-data": texts}
    argv = data.draw(flags(spec))
    rc = check_cli(["train", *argv, "--out", str(out), "--quiet"])
    assert rc == 2  # nothing here can train


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from tests.demos_tiny import make_tiny_llama

    return make_tiny_llama(tmp_path_factory.mktemp("tiny") / "model")


GENERATE = {"--prompt": texts, "--max-new-tokens": numbers, "--temperature": numbers, "--top-k": numbers,
            "--top-p": numbers, "--repetition-penalty": numbers, "--seed": numbers}


@SLOW
@given(st.data())
def test_cli_generate_never_tracebacks(tiny_model, data):
    argv = data.draw(flags(GENERATE))
    model = data.draw(st.one_of(st.just(str(tiny_model)), texts))
    # Keep real generation short: a valid count above 8 becomes 8.
    argv = [("8" if prev == "--max-new-tokens" and v.isdigit() and 8 < int(v) < 10**6 else v)
            for prev, v in zip([""] + argv, argv)]
    extra = data.draw(st.sampled_from([[], ["--greedy"], ["--chat"], ["--plain"]]))
    check_cli(["generate", "--model", model, *argv, *extra, "--json"], json_out=True)


@SLOW
@given(st.data())
def test_cli_eval_never_tracebacks(tiny_model, tmp_path_factory, data):
    task = data.draw(st.sampled_from(["sentiment", "qa", "translation", "generation", "x"]))
    content = data.draw(st.one_of(
        st.sampled_from([b"text,label\ngood,positive\nbad,negative\n", b'{"context":"a b","question":"a?","answers":["a"]}\n',
                         b"hello\tbonjour\n", b"para one\n\npara two\n", b"", b"\x00\x01", b"PK\x03\x04zip",
                         "caf\xe9".encode("latin-1"), "text\n\u202e\x07\n".encode()]),
        st.binary(max_size=200)))
    path = tmp_path_factory.mktemp("eval") / "data.txt"
    path.write_bytes(content)
    data_arg = data.draw(st.one_of(st.just(str(path)), texts))
    model = data.draw(st.one_of(st.just(str(tiny_model)), st.just("~no-such-user/m"), texts))
    limit = data.draw(st.one_of(st.just([]), numbers.map(lambda v: ["--limit", v])))
    check_cli(["eval", "--model", model, "--task", task, "--data", data_arg, *limit, "--json", "--fast"],
              json_out=True)


# ------------------------------------------------------------------ the forms' core validators
anything = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), texts,
                     st.lists(st.integers(), max_size=2), st.dictionaries(texts, st.integers(), max_size=2))


@FAST
@given(st.sampled_from(["TrainingInputs", "MemoryInputs", "InferenceInputs", "ArchitectureInputs"]), st.data())
def test_estimate_inputs_accept_or_say_why_in_both_languages(name, data):
    from core.estimate import inputs

    model = getattr(inputs, name)
    fields = list(model.model_fields)
    raw = data.draw(st.dictionaries(st.sampled_from(fields + ["unknown"]), anything, max_size=len(fields)))
    try:
        parsed = inputs.parse(model, raw)
    except inputs.InputError as exc:
        for lang in ("en", "zh"):
            lines = inputs.messages(exc, lang)
            assert lines and all(isinstance(m, str) and m.strip() for m in lines)
        return
    for value in parsed.model_dump().values():  # accepted values are finite
        assert not isinstance(value, float) or math.isfinite(value)


@FAST
@given(anything, anything, st.dictionaries(texts, anything, max_size=4), st.dictionaries(texts, anything, max_size=3))
def test_scenario_validators_accept_or_raise_scenario_error(name, notes, weights, payload):
    from core.explore import scenarios
    from core.i18n import t

    for check, value in ((scenarios.validate_name, name), (scenarios.validate_notes, notes),
                         (scenarios.validate_weights, weights), (scenarios.validate_overrides, payload)):
        try:
            check(value)
        except scenarios.ScenarioError as exc:
            assert exc.code and t(f"explorer.err.{exc.code}", "en", **exc.params).strip()
    state = scenarios.ScenarioState.from_payload(payload)  # a hand-edited row never breaks a page
    assert sum(state.weights.values()) > 0


@FAST
@given(st.integers(min_value=-10**20, max_value=10**20), st.floats(), st.integers(min_value=-10**20, max_value=10**20),
       st.floats(), st.floats(), st.one_of(st.none(), st.integers(min_value=-10**20, max_value=10**20)))
def test_generation_params_are_accepted_or_refused_with_a_message(max_new, temperature, top_k, top_p, rep, seed):
    from core.lm.generate import GenerationError, GenerationParams

    try:
        GenerationParams(max_new_tokens=max_new, temperature=temperature, top_k=top_k, top_p=top_p,
                         repetition_penalty=rep, seed=seed).validate()
    except GenerationError as exc:
        assert str(exc).strip()


@FAST
@given(st.data())
def test_studio_config_is_valid_or_refused_with_a_message(data):
    from core.lm.train_config import TrainConfig

    ints = {k.lstrip("-").replace("-", "_"): st.integers(min_value=-10**12, max_value=10**12) for k in TRAIN_INTS}
    floats = {k.lstrip("-").replace("-", "_"): st.floats() for k in TRAIN_FLOATS}
    raw = data.draw(st.fixed_dictionaries({}, optional=ints | floats | {"corpus": texts, "tokenizer": texts}))
    config = TrainConfig(**({"corpus": "shakespeare"} | raw))
    try:
        config.validate()
    except ValueError as exc:
        assert str(exc).startswith("--") or "give" in str(exc)
        return
    # What validation accepts, the studio can estimate without an error.
    from core.runs import estimate as run_estimate

    est = run_estimate.estimate_run(config)
    assert est.parameters > 0 and math.isfinite(est.seconds) and math.isfinite(est.memory_gib)


@FAST
@given(st.binary(max_size=3000), st.one_of(st.sampled_from(["a.txt", "a.csv", "a.jsonl", "a.md", "../../x.txt",
                                                            "..\\..\\x.csv", "x.TXT", "", "a.exe", "/etc/x.txt"]),
                                           texts))
def test_upload_checks_accept_or_refuse_and_write_nothing_when_refused(raw, filename):
    from core.lm import corpora, task_files, tasks
    from core.uploads import UploadError, read_upload

    def files():
        root = Path(__import__("core.config", fromlist=["x"]).get_settings().state_dir)
        return {p for d in ("corpora", "task_uploads") for p in (root / d).rglob("*")} if root.exists() else set()
    before = files()
    try:
        up = read_upload(raw, filename, (".txt", ".csv", ".jsonl", ".md"))
        assert up.text.encode("utf-8") == raw.removeprefix(b"\xef\xbb\xbf")
    except UploadError as exc:
        assert str(exc).strip()
    try:
        corpus = corpora.save_upload(filename, raw)
        assert corpus.path.parent == corpora.uploads_dir() and corpus.name.startswith("upload-")
    except corpora.CorpusError as exc:
        assert str(exc).strip() and files() == before
    before = files()
    try:
        path, _ = task_files.save_task_upload("sentiment", filename, raw)
        assert path.parent.name == "sentiment" and path.name.startswith("upload-")
    except tasks.TaskDataError as exc:
        assert str(exc).strip() and files() == before


@FAST
@given(st.one_of(texts, st.sampled_from(["~no-such-user/model", "a" * 5000, "x\x00y", "/", ".", "smollm2-135m-instruct"])))
def test_a_model_reference_typed_in_the_sidebar_resolves_or_says_why(text):
    from core.lm.loader import ModelLoadError, resolve

    try:
        assert resolve(text).path
    except ModelLoadError as exc:
        assert str(exc).strip()
