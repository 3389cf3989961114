"""Pitch: one use case from market to cost to live demo, exported as a PowerPoint deck and a PDF brief.
The URL is the state: /pitch?use_case=<id>&scenario=<name>&lang=zh."""
import time

import streamlit as st

from core.explore import data as explorer_data
from core.explore import market, scenarios
from core.lm.loader import ModelLoadError
from core.lm.registry import models_for_task
from core.pitch import content, demo
from core.pitch.exports import EXPORTS, file_name
from core.pitch.render import RenderError, warm_up
from pages._demos import cached_model, escape_md
from pages._explorer_ui import safe
from pages._pitch_ui import cost, facts_table, next_steps, settings_form, why
from pages._shared import lang, tr

st.title(tr("nav.pitch"), anchor=False)
if not st.session_state.get("_pitch_warm"):  # start the export browsers while the user reads
    st.session_state["_pitch_warm"] = True
    warm_up()
st.caption(tr("pitch.intro"))

# scenario: from the URL by name (unknown -> message, default weights), or picked here
saved = {r.name: r for r in scenarios.list_all()}
wanted = st.query_params.get("scenario")
if wanted is not None and st.session_state.get("_pitch_url_scenario") != wanted:
    st.session_state["_pitch_url_scenario"] = wanted
    found = scenarios.find(wanted)
    st.session_state["pitch_scenario"] = found.name if found else None
    st.session_state["_pitch_bad_scenario"] = None if found else wanted
c1, c2 = st.columns([1, 2])
scenario_name = c1.selectbox(tr("pitch.pick.scenario"), list(saved), index=None, key="pitch_scenario",
                             placeholder=tr("pitch.scenario.none"))
if st.session_state.get("_pitch_bad_scenario"):
    c1.warning(tr("pitch.err.unknown_scenario", name=safe(st.session_state["_pitch_bad_scenario"])))
record = saved.get(scenario_name)
state = record.state if record else scenarios.ScenarioState()
ranked = explorer_data.localise(market.evaluate(explorer_data.catalogue(), state.weights, state.overrides), lang())
labels = {r.use_case_id: f"#{r.rank} {r.label}" for r in ranked.itertuples()}

# use case: from the URL (unknown -> message next to the picker), else the scenario's top pick
linked = st.query_params.get("use_case")
if linked is not None and st.session_state.get("_pitch_url_uc") != linked:
    st.session_state["_pitch_url_uc"] = linked
    st.session_state["_pitch_bad_uc"] = None if linked in labels else linked
    if linked in labels:
        st.session_state["pitch_uc"] = linked
uid = c2.selectbox(tr("pitch.pick"), list(labels), format_func=labels.get, key="pitch_uc")
if st.session_state.get("_pitch_bad_uc"):
    c2.error(tr("pitch.err.unknown_use_case", id=safe(st.session_state["_pitch_bad_uc"])), icon=":material/error:")
st.query_params["use_case"] = uid
if record:
    st.query_params["scenario"] = record.name
elif "scenario" in st.query_params and not st.session_state.get("_pitch_bad_scenario"):
    del st.query_params["scenario"]

settings = settings_form()
if settings is None:
    st.stop()
row = ranked.set_index("use_case_id").loc[uid]
task = str(row["task"])
models = [m.id for m in models_for_task(task, lang=lang())] if task in demo.TASKS else []
model_id = st.session_state.get("pitch_model") if st.session_state.get("pitch_model") in models else None
section = demo.demo_section(task, uid, lang(), model_id)
captured = st.session_state.get("pitch_transcript")
if captured and captured[0] == (uid, section.model_id, lang()):
    section.transcript = captured[1]
pitch = content.build_pitch(uid, record, lang(), settings, demo=section)

st.header(pitch.name, anchor=False)
st.caption(f"{pitch.domain} · {tr('explorer.task.' + task)} · {pitch.description}")
why(pitch)
cost(pitch)

st.subheader(tr("pitch.section.demo"), anchor=False)
if not section.available:
    st.info(tr("pitch.demo.none", task=tr("explorer.task." + task)), icon=":material/block:")
    st.caption(tr("pitch.demo.studio"))
    st.code(section.studio_command, language="bash")
else:
    st.selectbox(tr("pitch.demo.model_pick"), models, key="pitch_model")
    metrics = ", ".join(f"{k} {v:.1f}" for k, v in section.card_metrics.items()) or "—"
    st.caption(" · ".join([tr("pitch.card.metrics", m=metrics), tr("pitch.card.data", data=section.card_data),
                           tr("pitch.card.licence", licence=section.card_licence)]))
    default, context = demo.demo_input(uid, lang())
    if task == "qa":
        st.caption(tr("pitch.demo.context"))
        st.text(context)
    prompt = st.text_area(tr("pitch.demo.edit"), value=default,
                          key=f"pitch_prompt_{uid}_{lang()}", height=80)
    if st.button(tr("pitch.demo.run"), type="primary", key="pitch_run", icon=":material/play_arrow:"):
        out = st.empty()
        try:
            lm = cached_model(section.model_id)
            run = demo.run_demo(lm, task, prompt, context, lang(), on_text=out.text)
        except demo.DemoError as exc:
            st.warning(tr(f"pitch.err.{exc.code}", **exc.params))
        except ModelLoadError as exc:
            st.error(tr("demos.load_failed", error=str(exc)))
        else:
            st.session_state["pitch_transcript"] = ((uid, section.model_id, lang()), run)
            section.transcript = run
            st.session_state.pop("pitch_files", None)  # exports made before this run lack it
    if section.transcript is not None:
        tr_ = section.transcript
        st.markdown(f"**{tr('pitch.demo.prompt')}** {escape_md(tr_.prompt)}  \n**{tr('pitch.demo.answer')}** "
                    f"{escape_md(tr_.answer or '—')}")
        st.caption(tr("pitch.demo.captured", summary=demo.transcript_summary(section, lang())))

next_steps(pitch)
with st.expander(tr("pitch.section.facts"), icon=":material/fact_check:"):
    facts_table(pitch.facts())

st.subheader(tr("pitch.export"), anchor=False)
st.caption(tr("pitch.export.caption"))
signature = (uid, scenario_name, lang(), settings.model_dump_json(), id(section.transcript))
if st.button(tr("pitch.export.build"), key="pitch_build", icon=":material/picture_as_pdf:"):
    t0 = time.perf_counter()
    try:
        with st.spinner(tr("pitch.export.building")):
            files = {fmt.key: fmt.build(pitch) for fmt in EXPORTS}
    except RenderError as exc:
        st.error(tr("pitch.err.render", error=str(exc)))
    else:
        st.session_state["pitch_files"] = (signature, files, time.perf_counter() - t0)
built = st.session_state.get("pitch_files")
if built and built[0] == signature:
    cols = st.columns(len(EXPORTS) + 1)
    for col, fmt in zip(cols, EXPORTS):
        col.download_button(tr(fmt.label_key), built[1][fmt.key], file_name=file_name(pitch, fmt), mime=fmt.mime,
                            key=f"pitch_download_{fmt.key}", icon=":material/download:", on_click="ignore")
    cols[-1].caption(tr("pitch.export.ready", files=", ".join(file_name(pitch, f) for f in EXPORTS),
                        s=f"{built[2]:.1f}"))
