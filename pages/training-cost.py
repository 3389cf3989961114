"""Training cost: FLOPs, time, money and energy across accelerators, validated against published runs."""
import plotly.graph_objects as go
import streamlit as st

from core.estimate import catalogue, sweep, validation
from core.estimate.inputs import InputError, TrainingInputs, UserAcceleratorInput, UserRunInput, messages, parse
from core.estimate.training import estimate_training
from core.estimate.units import human
from pages._shared import lang, tr

st.title(tr("nav.training_cost"))
st.caption(tr("estimate.training.intro"))

accs = catalogue.accelerators()
names = dict(zip(accs["accelerator_id"], accs["name"]))
use_cases = catalogue.use_cases()
st.session_state.setdefault("est_params_b", 7.0)
st.session_state.setdefault("est_tokens_b", 140.0)


def apply_use_case(use_case_id: str | None) -> None:
    sizes = catalogue.use_case_sizes(use_case_id) if use_case_id else None
    if sizes is not None:
        st.session_state.est_params_b, st.session_state.est_tokens_b = sizes


# Prefill from a use case: the explorer links here with ?use_case=<id>; the select box does the same.
linked = st.query_params.get("use_case")
if linked and st.session_state.get("est_linked_use_case") != linked:
    st.session_state.est_linked_use_case = linked
    if catalogue.use_case(linked) is None:
        st.warning(tr("estimate.training.unknown_use_case", id=linked))
    else:
        st.session_state.est_use_case = linked
        apply_use_case(linked)
if not use_cases.empty:
    labels = dict(zip(use_cases["use_case_id"], use_cases["name"]))
    st.selectbox(tr("estimate.training.use_case"), [None, *labels], key="est_use_case",
                 format_func=lambda k: tr("estimate.training.no_use_case") if k is None else labels[k],
                 on_change=lambda: apply_use_case(st.session_state.est_use_case),
                 help=tr("estimate.training.use_case.help"))

c1, c2, c3 = st.columns(3)
params_b = c1.number_input(tr("estimate.training.params_b"), min_value=0.000001, max_value=100000.0,
                           key="est_params_b", format="%.4g", help=tr("estimate.training.params_b.help"))
tokens_b = c1.number_input(tr("estimate.training.tokens_b"), min_value=0.000001, max_value=1000000.0,
                           key="est_tokens_b", format="%.4g", help=tr("estimate.training.tokens_b.help"))
accelerator_id = c2.selectbox(tr("estimate.accelerator"), list(names), format_func=names.get,
                              index=list(names).index("h100_sxm") if "h100_sxm" in names else 0)
count = c2.number_input(tr("estimate.count"), min_value=1, max_value=1_000_000, value=64, step=8)
recompute = c2.checkbox(tr("estimate.training.recompute"), help=tr("estimate.training.recompute.help"))
mfu = c3.slider(tr("estimate.mfu"), 0.05, 0.9, 0.4, 0.01, help=tr("estimate.mfu.help"))
price = c3.number_input(tr("estimate.price"), min_value=0.0, max_value=10000.0, value=0.0, step=0.1,
                        help=tr("estimate.price.help"))
pue = c3.number_input(tr("estimate.pue"), min_value=1.0, max_value=3.0, value=1.2, step=0.05, help=tr("estimate.pue.help"))

try:
    inp = parse(TrainingInputs, {"params": params_b * 1e9, "tokens": tokens_b * 1e9, "accelerator_id": accelerator_id,
                                 "count": int(count), "mfu": mfu, "usd_per_accelerator_hour": price or None,
                                 "pue": pue, "recompute": recompute})
except InputError as exc:
    for message in messages(exc, lang()):
        st.error(message)
    st.stop()

acc = catalogue.accelerator(inp.accelerator_id)
usd = inp.usd_per_accelerator_hour if inp.usd_per_accelerator_hour is not None else acc.usd_per_accelerator_hour
est = estimate_training(inp.params, inp.tokens, acc.bf16_tflops_dense, inp.count, inp.mfu, usd, acc.board_power_w,
                        inp.pue, inp.recompute)
m = st.columns(5)
m[0].metric(tr("estimate.training.flops"), f"{est.flops:.3g}")
m[1].metric(tr("estimate.training.accelerator_hours"), human(est.accelerator_hours))
m[2].metric(tr("estimate.training.wall_clock"), tr("estimate.days", n=f"{est.wall_clock_days:,.1f}"))
m[3].metric(tr("estimate.training.cost"), "n/a" if est.cost_usd is None else f"${human(est.cost_usd)}")
m[4].metric(tr("estimate.training.energy"), "n/a" if est.energy_kwh is None else f"{human(est.energy_kwh)} kWh")
if inp.usd_per_accelerator_hour is not None:
    price_note = tr("estimate.training.price_yours", usd=f"{usd:.3g}")
elif usd is not None:
    price_note = tr("estimate.training.price_from", provider=acc.price_provider, usd=f"{usd:.3g}",
                    kind=tr(f"estimate.price_kind.{acc.price_kind}"))
else:
    price_note = tr("estimate.training.no_price")
st.caption(tr("estimate.training.chinchilla", ratio=f"{est.tokens_per_param:,.1f}", optimal=human(est.chinchilla_tokens))
           + " · " + price_note)

st.subheader(tr("estimate.training.across"))
comparison = sweep.compare_accelerators(inp.params, inp.tokens, inp.count, mfu=inp.mfu, pue=inp.pue,
                                        recompute=inp.recompute)
priced = comparison.dropna(subset=["cost_usd"]).sort_values("cost_usd", ascending=False)
fig = go.Figure(go.Bar(
    x=priced["cost_usd"], y=priced["name"], orientation="h", cliponaxis=False, textposition="outside",
    text=[tr("estimate.days", n=f"{d:,.1f}") for d in priced["wall_clock_days"]],
    marker={"color": priced["wall_clock_days"], "colorscale": "Viridis", "reversescale": True,
            "colorbar": {"title": {"text": tr("estimate.training.axis_days")}}}))
fig.update_layout(height=60 + 28 * len(priced), margin={"t": 10, "b": 10, "r": 80},
                  xaxis_title=tr("estimate.training.axis_cost"))
st.plotly_chart(fig, width="stretch")
st.caption(tr("estimate.training.across.caption", count=inp.count))

st.subheader(tr("estimate.training.deadline"))
deadline = st.number_input(tr("estimate.training.deadline_days"), min_value=0.1, max_value=3650.0, value=30.0, step=1.0)
need = sweep.accelerators_for_deadline(inp.params, inp.tokens, deadline, mfu=inp.mfu, recompute=inp.recompute)
st.dataframe(need.drop(columns=["accelerator_id"]), hide_index=True, width="stretch", height=36 * (len(need) + 1) + 3,
             column_config={
    "name": tr("estimate.accelerator"), "accelerator_hours": st.column_config.NumberColumn(tr("estimate.training.accelerator_hours"), format="compact"),
    "accelerators_needed": tr("estimate.training.needed"), "wall_clock_days": st.column_config.NumberColumn(tr("estimate.training.axis_days"), format="%.1f"),
    "cost_usd": st.column_config.NumberColumn(tr("estimate.training.cost"), format="dollar")})

st.subheader(tr("estimate.validation.title"))
st.caption(tr("estimate.validation.caption"))
table = validation.validation_table()
table["accelerator_id"] = table["accelerator_id"].map(names).fillna(table["accelerator_id"])
table["efficiency_basis"] = [tr(f"estimate.validation.basis.{k}", v=v) for k, v in
                             zip(table["efficiency_kind"], table["efficiency_value"])]
summary = validation.summary(table)
s = st.columns(3)
for col, key in zip(s, ("hours_error_pct_own", "hours_error_pct_default_mfu", "flops_error_pct")):
    value = summary[key]["median_abs_pct"]
    col.metric(tr(f"estimate.validation.{key}"), "n/a" if value is None else f"{value:.1f}%",
               help=tr("estimate.validation.runs", n=summary[key]["runs"]))
errors = table.dropna(subset=["hours_error_pct_own", "hours_error_pct_default_mfu"], how="all")
fig = go.Figure([go.Bar(x=errors[f"hours_error_pct_{key}"], y=errors["model"], orientation="h",
                        name=tr(f"estimate.validation.col.hours_{label}"))
                 for key, label in (("own", "own"), ("default_mfu", "default"))])
fig.update_layout(barmode="group", height=80 + 26 * len(errors), margin={"t": 10, "b": 10},
                  legend={"orientation": "h", "y": 1.12}, xaxis_title=tr("estimate.validation.axis_error"))
st.plotly_chart(fig, width="stretch")
pct = lambda key: st.column_config.NumberColumn(tr(f"estimate.validation.col.{key}"), format="%+.1f%%")  # noqa: E731
st.dataframe(
    table[["model", "accelerator_id", "accelerator_count", "efficiency_basis", "estimated_accelerator_hours",
           "reported_accelerator_hours", "hours_error_pct_own", "hours_error_pct_default_mfu", "estimated_days",
           "reported_days", "days_error_pct", "flops_error_pct", "source_url"]],
    hide_index=True, width="stretch", height=36 * (len(table) + 1) + 3, column_config={
        "model": tr("estimate.validation.col.model"), "accelerator_id": tr("estimate.accelerator"),
        "accelerator_count": tr("estimate.count"), "efficiency_basis": tr("estimate.validation.col.basis"),
        "estimated_accelerator_hours": st.column_config.NumberColumn(tr("estimate.validation.col.est_hours"), format="compact"),
        "reported_accelerator_hours": st.column_config.NumberColumn(tr("estimate.validation.col.rep_hours"), format="compact"),
        "hours_error_pct_own": pct("hours_own"), "hours_error_pct_default_mfu": pct("hours_default"),
        "estimated_days": st.column_config.NumberColumn(tr("estimate.validation.col.est_days"), format="%.1f"),
        "reported_days": st.column_config.NumberColumn(tr("estimate.validation.col.rep_days"), format="%.1f"),
        "days_error_pct": pct("days"), "flops_error_pct": pct("flops"),
        "source_url": st.column_config.LinkColumn(tr("estimate.source"))})

with st.expander(tr("estimate.user.title"), expanded="est_flash" in st.session_state):
    st.caption(tr("estimate.user.caption"))
    if "est_flash" in st.session_state:
        st.success(st.session_state.pop("est_flash"))
    forms = {
        "accelerator": (UserAcceleratorInput, catalogue.add_user_accelerator, lambda: {
            "name": st.text_input(tr("estimate.user.name"), max_chars=120),
            "bf16_tflops_dense": st.number_input(tr("estimate.user.tflops"), 0.0, 100000.0, 0.0),
            "memory_gib": st.number_input(tr("estimate.user.memory"), 0.0, 100000.0, 0.0),
            "bandwidth_tbs": st.number_input(tr("estimate.user.bandwidth"), 0.0, 1000.0, 0.0),
            "board_power_w": st.number_input(tr("estimate.user.power"), 0.0, 100000.0, 0.0) or None,
            "usd_per_accelerator_hour": st.number_input(tr("estimate.price"), 0.0, 10000.0, 0.0) or None,
            "source": st.text_input(tr("estimate.source"), max_chars=500)}),
        "run": (UserRunInput, catalogue.add_user_training_run, lambda: {
            "model": st.text_input(tr("estimate.validation.col.model"), max_chars=120),
            "params_b": st.number_input(tr("estimate.training.params_b"), 0.0, 100000.0, 0.0),
            "tokens_b": st.number_input(tr("estimate.training.tokens_b"), 0.0, 1000000.0, 0.0),
            "accelerator_id": st.selectbox(tr("estimate.accelerator"), list(names), format_func=names.get),
            "accelerator_count": st.number_input(tr("estimate.count"), 0, 10_000_000, 0) or None,
            "reported_accelerator_hours": st.number_input(tr("estimate.validation.col.rep_hours"), 0.0, 1e12, 0.0) or None,
            "reported_mfu": st.number_input(tr("estimate.mfu"), 0.0, 1.0, 0.0) or None,
            "reported_tokens_per_s_per_accelerator": st.number_input(tr("estimate.user.tps"), 0.0, 1e9, 0.0) or None,
            "source": st.text_input(tr("estimate.source"), max_chars=500)}),
    }
    for column, (kind, (model, save, fields)) in zip(st.columns(2), forms.items()):
        with column.form(f"est_add_{kind}"):
            st.markdown(f"**{tr(f'estimate.user.add_{kind}')}**")
            data = fields()
            if st.form_submit_button(tr("estimate.user.save")):
                try:
                    new_id = save(parse(model, data))
                except ValueError as exc:  # InputError included
                    for message in messages(exc, lang()):
                        st.error(message)
                else:
                    st.session_state.est_flash = tr("estimate.user.saved", id=new_id)
                    st.rerun()
    mine = [i for i in accs.loc[accs["user_added"], "accelerator_id"]] + \
        [r for r in table.loc[table["user_added"], "run_id"]]
    if mine:
        d1, d2 = st.columns([3, 1])
        doomed = d1.selectbox(tr("estimate.user.delete_which"), mine)
        if d2.button(tr("estimate.user.delete"), width="stretch"):
            catalogue.delete_user_item(doomed)
            st.session_state.est_flash = tr("estimate.user.deleted", id=doomed)
            st.rerun()
