"""Memory & inference: will the model fit, how fast does it serve, what does a million tokens cost."""
import plotly.graph_objects as go
import streamlit as st

from core.estimate import catalogue, compare
from core.estimate.architecture import Architecture, shape_from_params
from core.estimate.inputs import ArchitectureInputs, InferenceInputs, InputError, MemoryInputs, messages, parse
from core.estimate.units import human
from pages._shared import lang, tr

st.title(tr("nav.memory_inference"))
st.caption(tr("estimate.memory.intro"))


def show_errors(exc: Exception) -> None:
    for message in messages(exc, lang()):
        st.error(message)
    st.stop()


def fit_chart(parts: dict[str, float], df) -> None:
    """What the model needs (stacked, once) next to every accelerator's capacity (green where it fits)."""
    fig = go.Figure()
    need = tr("estimate.memory.required")
    for label, gib in parts.items():
        fig.add_bar(x=[need], y=[gib], name=label)
    fig.add_bar(x=df["name"], y=df["capacity_gib"], name=tr("estimate.memory.capacity_legend"),
                marker_color=["#2e7d32" if fits else "#b0b0b0" for fits in df["fits"]])
    fig.add_hline(y=sum(parts.values()), line_dash="dash", line_color="#c62828")
    fig.update_layout(barmode="stack", height=440, margin={"t": 10, "b": 10}, yaxis_title="GiB",
                      legend={"orientation": "h", "y": 1.1})
    st.plotly_chart(fig, width="stretch")


accs = catalogue.accelerators()
names = dict(zip(accs["accelerator_id"], accs["name"]))
presets = catalogue.presets()
preset_names = dict(zip(presets["preset_id"], presets["name"] + " (" + presets["params_b"].map("{:g}B".format) + ")"))
# A use case (?use_case=<id>, as the explorer links) adds its model size, shaped by shape_from_params.
use_case = catalogue.use_case(st.query_params["use_case"]) if "use_case" in st.query_params else None
if use_case is not None:
    preset_names = {"use_case": tr("estimate.memory.from_use_case", name=use_case["name"],
                                   params=f"{use_case['model_params_b']:g}")} | preset_names
choice = st.selectbox(tr("estimate.memory.model"), [*preset_names, "custom"],
                      index=list(preset_names).index("llama2_7b") if use_case is None and "llama2_7b" in preset_names else 0,
                      format_func=lambda k: tr("estimate.memory.custom") if k == "custom" else preset_names[k])
if choice == "use_case":
    arch = shape_from_params(float(use_case["model_params_b"]) * 1e9)
elif choice == "custom":
    c = st.columns(7)
    shape = {key: c[i].number_input(tr(f"estimate.field.{key}"), min_value=1, value=default, key=f"est_arch_{key}")
             for i, (key, default) in enumerate({"layers": 32, "hidden": 4096, "heads": 32, "kv_heads": 8,
                                                  "ffn_hidden": 14336, "vocab": 32000, "context": 8192}.items())}
    try:
        arch_in = parse(ArchitectureInputs, shape | {"gated_mlp": True, "tied_embeddings": False})
        arch = Architecture(name=tr("estimate.memory.custom"), **arch_in.model_dump())
    except (InputError, ValueError) as exc:
        show_errors(exc)
else:
    arch = catalogue.preset(choice)
st.caption(tr("estimate.memory.shape", params=human(arch.params_count), layers=arch.layers, hidden=arch.hidden,
              heads=arch.heads, kv_heads=arch.kv_heads, ratio=f"{arch.gqa_ratio:g}", context=f"{arch.context:,}"))

serve, train = st.tabs([tr("estimate.memory.tab_inference"), tr("estimate.memory.tab_training")])
with serve:
    c1, c2, c3, c4 = st.columns(4)
    raw = {"accelerator_id": c1.selectbox(tr("estimate.accelerator"), list(names), format_func=names.get,
                                          index=list(names).index("a100_80gb") if "a100_80gb" in names else 0),
           "count": c1.number_input(tr("estimate.count"), 1, 4096, 1),
           "dtype": c2.selectbox(tr("estimate.field.dtype"), ["bf16", "fp32", "int8", "int4"]),
           "kv_dtype": c2.selectbox(tr("estimate.field.kv_dtype"), ["bf16", "fp32", "int8", "int4"]),
           "batch": c3.number_input(tr("estimate.field.batch"), 1, 65536, 8),
           "prompt_tokens": c3.number_input(tr("estimate.field.prompt_tokens"), 1, 10_000_000, 1024),
           "output_tokens": c4.number_input(tr("estimate.field.output_tokens"), 1, 10_000_000, 256),
           "efficiency": c4.slider(tr("estimate.field.efficiency"), 0.1, 1.0, 0.7, 0.05,
                                   help=tr("estimate.memory.efficiency.help"))}
    try:
        inp = parse(InferenceInputs, raw)
    except InputError as exc:
        show_errors(exc)
    settings = inp.model_dump(exclude={"accelerator_id", "usd_per_accelerator_hour"})
    est = compare.inference_on(arch, inp.accelerator_id, **settings)
    m = st.columns(6)
    m[0].metric(tr("estimate.memory.fits"), tr("estimate.yes") if est.fits else tr("estimate.no"),
                f"{est.total_gib:,.1f} / {est.capacity_gib:,.0f} GiB", delta_color="off", delta_arrow="off")
    m[1].metric(tr("estimate.memory.max_batch"), f"{est.max_batch:,}")
    m[2].metric(tr("estimate.memory.max_context"), f"{est.max_context:,}")
    m[3].metric(tr("estimate.memory.ttft"), f"{est.time_to_first_token_s * 1000:,.0f} ms")
    m[4].metric(tr("estimate.memory.tokens_per_second"), f"{est.tokens_per_second:,.0f}",
                tr("estimate.memory.per_sequence", n=f"{est.tokens_per_second_per_sequence:,.1f}"), delta_color="off",
                delta_arrow="off")
    m[5].metric(tr("estimate.memory.cost_per_million"),
                "n/a" if est.cost_per_million_tokens_usd is None else f"${est.cost_per_million_tokens_usd:,.2f}")
    if not est.fits:
        st.warning(tr("estimate.memory.does_not_fit"))
    st.caption(tr("estimate.memory.latency", s=f"{est.latency_s:,.2f}"))

    columns = {"fits": tr("estimate.memory.fits"), "max_batch": tr("estimate.memory.max_batch"),
               "tokens_per_second": st.column_config.NumberColumn(tr("estimate.memory.tokens_per_second"), format="%.0f"),
               "time_to_first_token_s": st.column_config.NumberColumn(tr("estimate.memory.ttft") + " (s)", format="%.3f"),
               "cost_per_million_tokens_usd": st.column_config.NumberColumn(tr("estimate.memory.cost_per_million"), format="dollar")}
    st.subheader(tr("estimate.memory.across"))
    across = compare.inference_across_accelerators(arch, **settings)
    fit_chart({tr("estimate.memory.weights"): est.weights_gib, tr("estimate.memory.kv"): est.kv_cache_gib,
               tr("estimate.memory.activations"): est.activations_gib}, across)
    st.caption(tr("estimate.memory.fit_caption", count=inp.count))
    st.dataframe(across[["name", "fits", "max_batch", "tokens_per_second", "time_to_first_token_s",
                         "cost_per_million_tokens_usd"]], hide_index=True, width="stretch",
                 column_config={"name": tr("estimate.accelerator")} | columns)
    st.subheader(tr("estimate.memory.dtypes"))
    dtypes = compare.inference_across_dtypes(arch, inp.accelerator_id, **settings)
    st.dataframe(dtypes[["dtype", "weights_gib", "total_gib", "fits", "max_batch", "tokens_per_second",
                         "time_to_first_token_s", "cost_per_million_tokens_usd"]], hide_index=True, width="stretch",
                 column_config={"dtype": tr("estimate.field.dtype"),
                                "weights_gib": st.column_config.NumberColumn(tr("estimate.memory.weights") + " (GiB)", format="%.1f"),
                                "total_gib": st.column_config.NumberColumn(tr("estimate.memory.total") + " (GiB)", format="%.1f")} | columns)
    st.caption(tr("estimate.memory.roofline"))

with train:
    c1, c2, c3, c4 = st.columns(4)
    raw = {"method": c1.selectbox(tr("estimate.field.method"), ["full", "lora", "qlora"],
                                  format_func=lambda k: tr(f"estimate.method.{k}")),
           "lora_rank": c1.number_input(tr("estimate.field.lora_rank"), 1, 4096, 16),
           "seq_len": c2.number_input(tr("estimate.field.seq_len"), 1, 10_000_000, 2048),
           "micro_batch": c2.number_input(tr("estimate.field.micro_batch"), 1, 65536, 1),
           "recompute": c3.selectbox(tr("estimate.field.recompute"), ["selective", "none", "full"],
                                     format_func=lambda k: tr(f"estimate.recompute.{k}")),
           "zero_stage": c3.selectbox(tr("estimate.field.zero_stage"), [0, 1, 2, 3]),
           "count": c4.number_input(tr("estimate.count"), 1, 1_000_000, 8),
           "tensor_parallel": c4.number_input(tr("estimate.field.tensor_parallel"), 1, 1024, 1),
           "pipeline_parallel": c4.number_input(tr("estimate.field.pipeline_parallel"), 1, 1024, 1)}
    try:
        mem = compare.training_memory_across_accelerators(arch, **parse(MemoryInputs, raw).model_dump())
    except (InputError, ValueError) as exc:
        show_errors(exc)
    first = mem.iloc[0]
    m = st.columns(4)
    m[0].metric(tr("estimate.memory.per_accelerator"), f"{first.total_gib:,.1f} GiB")
    m[1].metric(tr("estimate.memory.trainable"), human(first.trainable_params))
    m[2].metric(tr("estimate.memory.data_parallel"), f"{first.data_parallel:,}")
    m[3].metric(tr("estimate.memory.fitting"), f"{int(mem['fits'].sum())} / {len(mem)}")
    fit_chart({tr("estimate.memory.weights"): first.weights_gib, tr("estimate.memory.gradients"): first.gradients_gib,
               tr("estimate.memory.optimizer"): first.optimizer_gib, tr("estimate.memory.activations"): first.activations_gib},
              mem)
    st.caption(tr("estimate.memory.training_caption"))
