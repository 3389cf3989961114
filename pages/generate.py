"""Text generation: prompt or chat, sampling controls, streamed tokens, speed after each answer."""
import streamlit as st

from core.lm.generate import Generation, GenerationError, GenerationParams
from core.lm.tasks import chat_prompt
from pages._demos import load_selected, show_card, wait_for_slot
from pages._shared import tr

TASK = "generation"
st.title(tr("nav.generate"))
st.caption(tr("demos.generate.intro"))
show_card(TASK)
if st.session_state.get("gen_stop"):
    st.info(tr("demos.generate.stopped"))

with st.expander(tr("demos.generate.settings"), expanded=False):
    c1, c2, c3 = st.columns(3)
    temperature = c1.slider(tr("demos.generate.temperature"), 0.0, 2.0, 0.7, 0.05, key="gen_temperature")
    top_k = c2.number_input(tr("demos.generate.top_k"), 0, 1000, 50, key="gen_top_k")
    top_p = c3.slider(tr("demos.generate.top_p"), 0.05, 1.0, 0.95, 0.05, key="gen_top_p")
    max_new = c1.slider(tr("demos.generate.max_new_tokens"), 1, 512, 128, key="gen_max_new")
    rep = c2.slider(tr("demos.generate.repetition_penalty"), 1.0, 2.0, 1.1, 0.05, key="gen_rep")
    seed = c3.number_input(tr("demos.generate.seed"), 0, 2**31 - 1, 0, key="gen_seed",
                           help=tr("demos.generate.seed.help"))
    greedy = st.checkbox(tr("demos.generate.greedy"), key="gen_greedy")

mode = st.radio(tr("demos.generate.mode"), ["chat", "complete"], horizontal=True, key="gen_mode",
                format_func=lambda m: tr(f"demos.generate.mode.{m}"))
params = GenerationParams(max_new_tokens=int(max_new), temperature=float(temperature), top_k=int(top_k),
                          top_p=float(top_p), repetition_penalty=float(rep), seed=int(seed) or None, greedy=greedy)


def run(prompt: str) -> str | None:
    lm = load_selected(TASK)
    if lm is None:
        return None
    try:
        gen = Generation(lm, prompt(lm.tokenizer) if callable(prompt) else prompt, params)
        stop_slot = st.empty()  # pressing Stop reruns the page, which ends the stream (see core.lm.generate)
        stop_slot.button(tr("demos.generate.stop"), key="gen_stop", icon=":material/stop_circle:")
        wait_for_slot(gen)
        text = st.write_stream(gen)
        stop_slot.empty()
    except GenerationError as exc:
        st.error(str(exc))
        return None
    r = gen.result
    st.caption(tr("demos.generate.stats", tps=f"{r.tokens_per_second:.1f}", ttft=f"{r.ttft_ms:.0f}",
                  n=r.n_new_tokens, reason=tr(f"demos.generate.finish.{r.finish_reason or 'length'}")))
    return text if isinstance(text, str) else "".join(text)


if mode == "complete":
    text = st.text_area(tr("demos.generate.prompt"), key="gen_prompt", height=120,
                        placeholder=tr("demos.generate.prompt.placeholder"))
    if st.button(tr("demos.generate.submit"), type="primary", key="gen_submit"):
        if not text.strip():
            st.warning(tr("demos.generate.empty"))
        else:
            run(text)
else:
    history = st.session_state.setdefault("gen_chat", [])
    if history and st.button(tr("demos.generate.clear"), key="gen_clear"):
        history.clear()
    for msg in history:
        with st.chat_message(msg["role"]):
            st.text(msg["content"])
    question = st.chat_input(tr("demos.generate.chat.placeholder"), key="gen_chat_input")
    if question and question.strip():
        with st.chat_message("user"):
            st.text(question)
        messages = history + [{"role": "user", "content": question}]
        with st.chat_message("assistant"):
            answer = run(lambda tok: chat_prompt(messages, tok))
        if answer is not None:
            history.extend([{"role": "user", "content": question}, {"role": "assistant", "content": answer}])
