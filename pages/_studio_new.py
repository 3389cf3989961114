"""Studio: the new-run form (from scratch or fine-tune), its estimate and its CLI command."""
from __future__ import annotations

import streamlit as st

from core import runs
from core.lm import task_files
from core.runs import estimate as run_estimate
from core.config import get_settings
from core.lm import corpora, registry
from core.lm.tasks import TASKS, TaskDataError
from core.lm.train import TrainConfig
from pages._auth import me
from pages._shared import tr


def _corpus_inputs() -> dict:
    upload = st.file_uploader(tr("studio.corpus.upload"), type=["txt", "md", "csv", "jsonl"], key="studio_corpus_upload",
                              help=tr("studio.corpus.upload_help"), max_upload_size=get_settings().max_upload_mb)
    if upload is not None:
        try:
            accepted = corpora.save_upload(upload.name, upload)
            st.session_state["studio_corpus"] = accepted.name
            st.success(tr("studio.corpus.accepted", name=accepted.name, chars=f"{accepted.chars:,}"))
        except corpora.CorpusError as exc:
            st.error(tr("studio.corpus.rejected", reason=str(exc)))
    options = {c.name: c for c in corpora.list_corpora()}
    if not options:
        st.warning(tr("studio.corpus.none"))
        return {}
    name = st.selectbox(tr("studio.corpus"), list(options), key="studio_corpus",
                        format_func=lambda n: f"{n} ({options[n].chars:,} {tr('studio.chars')})"
                        + ("" if options[n].bundled else f" · {tr('studio.uploaded')}"))
    with st.expander(tr("studio.preview")):
        st.text(options[name].preview(700))
        if options[name].card:
            st.caption(" · ".join(f"{k}: {v}" for k, v in corpora.card_summary(name).items()))
    c1, c2 = st.columns(2)
    tokenizer = c1.radio(tr("studio.tokenizer"), ["char", "bpe"], horizontal=True, key="studio_tokenizer",
                         format_func=lambda k: tr(f"studio.tokenizer.{k}"))
    vocab = c2.number_input(tr("studio.vocab"), 256, 32768, TrainConfig.vocab_size, step=256, key="studio_vocab",
                            disabled=tokenizer != "bpe")
    c = st.columns(4)
    return {"corpus": name, "tokenizer": tokenizer, "vocab_size": int(vocab),
            "n_layer": c[0].number_input(tr("studio.n_layer"), 1, 24, TrainConfig.n_layer, key="studio_n_layer"),
            "n_head": c[1].number_input(tr("studio.n_head"), 1, 16, TrainConfig.n_head, key="studio_n_head"),
            "n_embd": c[2].number_input(tr("studio.n_embd"), 16, 1024, TrainConfig.n_embd, step=16, key="studio_n_embd"),
            "block_size": c[3].number_input(tr("studio.block_size"), 8, 1024, TrainConfig.kind_defaults("scratch")["block_size"], step=8, key="studio_block")}


def _finetune_inputs() -> dict:
    bases = [m.id for m in registry.list_models(actor=me())]
    c1, c2 = st.columns(2)
    base = c1.selectbox(tr("studio.base"), bases, key="studio_base")
    task = c2.selectbox(tr("studio.task"), TASKS, index=TASKS.index("sentiment"), key="studio_task",
                        format_func=lambda t: tr(f"studio.task.{t}"))
    upload = st.file_uploader(tr("studio.data.upload", suffix=task_files.TASK_SUFFIX[task]), key=f"studio_data_upload_{task}",
                              type=[task_files.TASK_SUFFIX[task].lstrip(".")], help=tr(f"studio.data.format.{task}"),
                              max_upload_size=get_settings().max_upload_mb)
    files = {str(p): p for p in task_files.bundled_task_files(task)}
    if upload is not None:
        try:
            path, examples = task_files.save_task_upload(task, upload.name, upload)
            files[str(path)] = path
            st.success(tr("studio.data.accepted", n=len(examples)))
        except TaskDataError as exc:
            st.error(tr("studio.data.rejected", reason=str(exc)))
    if not files:
        st.warning(tr("studio.data.none"))
        return {"base": base, "task": task}
    default = next((i for i, k in enumerate(files) if k.endswith("train" + task_files.TASK_SUFFIX[task])), 0)
    data = st.selectbox(tr("studio.data"), list(files), index=len(files) - 1 if upload else default,
                        key=f"studio_data_{task}", format_func=lambda k: files[k].parent.name + "/" + files[k].name)
    with st.expander(tr("studio.preview")):
        try:
            st.dataframe(task_files.preview_task_file(task, files[data]), width="stretch", hide_index=True)
        except TaskDataError as exc:
            st.error(str(exc))
    val = task_files.default_val_file(files[data])
    st.caption(tr("studio.data.heldout", name=val.name) if val else tr("studio.data.heldout_split"))
    c = st.columns(3)
    return {"base": base, "task": task, "data": task_files.display_path(files[data]),
            "val_data": task_files.display_path(val) if val else None,
            "lora": c[0].toggle(tr("studio.lora"), True, key="studio_lora", help=tr("studio.lora_help")),
            "lora_r": c[1].number_input(tr("studio.lora_r"), 1, 128, TrainConfig.lora_r, key="studio_lora_r"),
            "block_size": c[2].number_input(tr("studio.max_len"), 16, 2048, TrainConfig.kind_defaults("lora")["block_size"],
                                            step=16, key="studio_max_len")}


def render() -> None:
    mode = st.radio(tr("studio.mode"), ["scratch", "finetune"], horizontal=True, key="studio_mode",
                    format_func=lambda m: tr(f"studio.mode.{m}"))
    values = _corpus_inputs() if mode == "scratch" else _finetune_inputs()
    st.subheader(tr("studio.hyper"))
    kind = TrainConfig.kind_of(values.get("base"), bool(values.get("lora")))
    d = TrainConfig.kind_defaults(kind)
    c = st.columns(5)
    values.update(
        batch_size=c[0].number_input(tr("studio.batch_size"), 1, 512, d["batch_size"], key=f"studio_bs_{kind}"),
        max_iters=c[1].number_input(tr("studio.max_iters"), 1, 1_000_000, d["max_iters"], step=100, key=f"studio_it_{kind}"),
        lr=c[2].number_input(tr("studio.lr"), 1e-6, 0.5, d["lr"], format="%.0e", key=f"studio_lr_{kind}"),
        eval_interval=c[3].number_input(tr("studio.eval_interval"), 1, 100_000, d["eval_interval"], key=f"studio_ei_{kind}"),
        eval_iters=c[4].number_input(tr("studio.eval_iters"), 1, 1000, d["eval_iters"], key=f"studio_en_{kind}"),
    )
    nproc = st.number_input(tr("studio.nproc"), 1, 8, 1, key="studio_nproc", help=tr("studio.nproc_help"))
    if not values.get("corpus") and not values.get("data"):
        return
    config = TrainConfig(out="runs/my-run", **{k: (int(v) if isinstance(v, float) and k != "lr" else v)
                                             for k, v in values.items()})
    try:
        config.validate()
        estimate = run_estimate.estimate_run(config, int(nproc), actor=me())
    except (ValueError, OSError, KeyError) as exc:
        st.error(tr("studio.invalid", reason=str(exc)))
        return
    m = st.columns(4)
    m[0].metric(tr("studio.est.params"), f"{estimate.parameters / 1e6:,.2f} M",
                help=tr("studio.est.trainable", n=f"{estimate.trainable_parameters / 1e6:,.2f} M"))
    m[1].metric(tr("studio.est.memory"), f"{estimate.memory_gib:,.2f} GiB", help=tr("studio.est.memory_help"))
    m[2].metric(tr("studio.est.tokens"), f"{estimate.tokens / 1e6:,.2f} M")
    m[3].metric(tr("studio.est.time"), run_estimate.format_seconds(estimate.seconds),
                help=tr(f"studio.est.rate.{estimate.rate_basis}", gflops=f"{estimate.flops_per_second / 1e9:,.0f}"))
    st.caption(tr("studio.cli"))
    st.code(runs.cli_command(config, int(nproc)), language="bash", wrap_lines=True)
    if st.button(tr("studio.start"), type="primary", key="studio_start", icon=":material/play_arrow:"):
        try:
            run_id = runs.start_run(config, int(nproc), actor=me())
        except ValueError as exc:
            st.error(tr("studio.invalid", reason=str(exc)))
            return
        st.query_params["run"] = run_id
        st.rerun()
