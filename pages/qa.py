"""Question answering: a context (typed, pasted, or a use case from the explorer) and a question."""
import streamlit as st

from core.lm.inference import answer_question, highlight_parts, use_case_contexts
from pages._demos import escape_md, load_selected, show_card
from pages._shared import lang, tr

TASK = "qa"
MAX_CONTEXT_CHARS = 200_000  # longer contexts are cut to their most relevant passage by core
st.title(tr("nav.qa"))
st.caption(tr("demos.qa.intro"))
show_card(TASK)

use_cases = use_case_contexts(lang())
source = st.radio(tr("demos.qa.source"), ["use_case", "own"], horizontal=True, key="qa_source",
                  format_func=lambda s: tr(f"demos.qa.source.{s}"),
                  index=0 if st.query_params.get("use_case") in use_cases or not st.session_state.get("qa_context") else 1)
if source == "use_case" and use_cases:
    ids = list(use_cases)
    wanted = st.query_params.get("use_case")
    case = st.selectbox(tr("demos.qa.use_case"), ids, index=ids.index(wanted) if wanted in ids else 0,
                        format_func=lambda i: use_cases[i][0], key="qa_use_case")
    context = use_cases[case][1]
    st.text(context)
else:
    context = st.text_area(tr("demos.qa.context"), key="qa_context", height=180,
                           placeholder=tr("demos.qa.context.placeholder"))
question = st.text_input(tr("demos.qa.question"), key="qa_question", placeholder=tr("demos.qa.question.placeholder"))

if st.button(tr("demos.qa.submit"), type="primary", key="qa_submit"):
    if not context.strip() or not question.strip():
        st.warning(tr("demos.qa.empty"))
    elif len(context) > MAX_CONTEXT_CHARS:
        st.warning(tr("demos.qa.too_long", n=MAX_CONTEXT_CHARS))
    elif (lm := load_selected(TASK)) is not None:
        with st.spinner(tr("demos.qa.answering")):
            answer = answer_question(lm, context, question)
        if answer.note:
            st.info(tr("demos.qa.passage_note"))
        st.subheader(tr("demos.qa.answer"))
        st.markdown(f"### {escape_md(answer.text) or '—'}")
        before, span, after = highlight_parts(context, answer)
        if span:
            st.caption(tr("demos.qa.span"))
            st.markdown(f"{escape_md(before)}:orange-background[**{escape_md(span)}**]{escape_md(after)}")
        else:
            st.info(tr("demos.qa.not_extractive"))
