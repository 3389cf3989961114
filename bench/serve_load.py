#!/usr/bin/env python
"""Many browser sessions at once against `streamlit run app.py`, in real Chromium.

    .venv/bin/python bench/serve_load.py [--sessions 1 4 8 16] [--seconds 60] [--browsers 2]
                                         [--max-new-tokens 64] [--json bench/results/serve_load.json]

For each N: N Chromium sessions (browser contexts, each its own Streamlit session) ask the
generation page's chat for an answer in a loop for --seconds, while --browsers more sessions
click between the explorer and the training-cost estimator. Reported per N:
- errors: exceptions shown on a page, or an answer/page that did not arrive within 180 s (goal 0);
- ttft_ms p50/p95: from pressing Enter to the first answer text in the page (timed by the page);
- answer_s p50/p95 (Enter to the speed caption), and page_s p50/p95 for the browsing sessions (a
  sidebar click until the page's script ran);
- per-session tok/s (tokens / answer time, in the browser) and aggregate tok/s (all tokens of the
  answers completed in the window / the window), and the decoder's own tok/s from the page captions;
- the server's RSS (sampled every second from /proc): at the start, the peak and at the end.
Before the load, the same prompt and settings run once through `python -m core generate` (the CLI)
and once on the page alone, so the page's tok/s is compared with the CLI's side by side.

The browsers run on users' machines, not on the server: by default the server (and the CLI run it
is compared with) is pinned to the first half of the cores with OPPLAB_TORCH_THREADS set to match,
and Chromium and this driver to the other half (on the 2-core machine: one core each), so the
figures are the server's, not the server's minus 20 Chromium renderers'.

Sampling is the page's default (temperature 0.7, top-k 50, top-p 0.95, repetition penalty 1.1)
with max new tokens set on the page's slider. The server runs on its own state directory.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
QUESTIONS = ["Give me three ideas for a healthcare startup.", "What should a pitch deck contain?",
             "Explain what a GPU does, briefly.", "Write a short product description for a note-taking app.",
             "How do I price a SaaS product?", "Name three risks of using AI in finance."]
STATS = re.compile(r"(\d+) tokens · ([\d.]+) tokens/s · first token after (\d+) ms")
TIMEOUT_MS = int(os.environ.get("SERVE_LOAD_TIMEOUT_MS", "180000"))


PIN: list[str] = []  # taskset prefix for the server and the CLI
SERVER_CPUS: set[int] = set()
CLIENT_CPUS: set[int] = set()
MAX_NEW = [64]


def cpu_list(spec: str) -> set[int]:
    cpus: set[int] = set()
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class RssSampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.samples, self._stop_event = pid, [], threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            self.samples.append((time.monotonic(), rss_mb(self.pid)))
            time.sleep(1.0)

    def window(self, t0: float, t1: float) -> list[float]:
        return [mb for t, mb in self.samples if t0 <= t <= t1]

    def stop(self):
        self._stop_event.set()


def cpu_times() -> dict[int, tuple[int, int]]:
    """Per core: (busy, total) jiffies since boot, from /proc/stat."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if name.startswith("cpu") and name[3:].isdigit():
            v = [int(x) for x in fields]
            idle = v[3] + (v[4] if len(v) > 4 else 0)
            out[int(name[3:])] = (sum(v[:8]) - idle, sum(v[:8]))
    return out


def busy_share(before: dict, after: dict, cpus: set[int]) -> float | None:
    """How busy the cores in `cpus` were between two cpu_times() readings (0..1)."""
    busy = sum(after[c][0] - before[c][0] for c in cpus if c in after and c in before)
    total = sum(after[c][1] - before[c][1] for c in cpus if c in after and c in before)
    return round(busy / total, 3) if total else None


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (its threads included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return round(values[k], 3)


# The driver's waits poll the page a few times a second (JavaScript, `polling` in ms) rather than
# at frame rate, Playwright's default for a locator: twenty pages polled at 60 Hz took the one
# client core from the browsers being measured. Times that matter are taken by the page itself.
POLL_MS = 100


async def present(page, selector: str) -> None:
    await page.wait_for_function("s => !!document.querySelector(s)", arg=selector, timeout=TIMEOUT_MS, polling=POLL_MS)


async def wait_app(page) -> None:
    await present(page, "[data-testid='stApp'][data-test-connection-state='CONNECTED']")
    await page.wait_for_timeout(200)
    await present(page, "[data-testid='stApp'][data-test-script-state='notRunning']")


async def open_generate(ctx, url: str, max_new: int):
    page = await ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)  # one client core opening 16 pages is slow
    await page.goto(f"{url}/generate?lang=en", timeout=TIMEOUT_MS)
    await wait_app(page)
    await page.get_by_text("Sampling settings").click()
    slider = page.locator("[data-testid='stSlider']").filter(has_text="Max new tokens")
    shown = slider.get_by_test_id("stSliderThumbValue")  # rendered from the widget's state
    await slider.locator("input[type=range]").focus()
    value = int(await shown.inner_text())
    key = "ArrowLeft" if value > max_new else "ArrowRight"
    for _ in range(abs(value - max_new)):
        await page.keyboard.press(key)
    await page.wait_for_timeout(1000)
    await wait_app(page)
    got = int(await shown.inner_text())
    if got != max_new:
        raise RuntimeError(f"the max-new-tokens slider is at {got}, not {max_new}")
    return page


async def ask(page, question: str) -> dict:
    """One chat answer; times measured in the browser (a screenshot in $TMPDIR when it fails)."""
    try:
        return await _ask(page, question)
    except Exception:
        await page.screenshot(path=str(Path(tempfile.gettempdir()) / "serve_load_failure.png"), full_page=True)
        raise


# Installed in each generation page: the page itself notes when Enter goes down, when the answer's
# first text appears and when its speed caption does (performance.now(), from a MutationObserver),
# so the times do not depend on how often the driver polls (POLL_MS).
TIMING_JS = """() => {
  if (window.__opl) return;
  const st = window.__opl = {press: null, first: null, done: null, before: 0};
  document.addEventListener('keydown', e => { if (e.key === 'Enter') st.press = performance.now(); }, true);
  new MutationObserver(() => {
    if (st.press === null || st.done !== null) return;
    const msgs = document.querySelectorAll("[data-testid='stChatMessage']");
    const reply = msgs[st.before + 1];
    if (!reply) return;
    // the streamed answer's text: not the Stop button's label, the queue notice or the spinner,
    // which show in the same message before it
    const text = Array.from(reply.querySelectorAll("[data-testid='stMarkdownContainer']")).some(el =>
      !el.closest("[data-testid='stButton'], [data-testid='stAlert'], [data-testid='stSpinner'], " +
                  "[data-testid='stCaptionContainer']") && el.innerText.trim().length > 0);
    if (st.first === null && text) st.first = performance.now();
    if (reply.innerText.includes('first token after')) st.done = performance.now();
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


async def _ask(page, question: str) -> dict:
    clear = page.get_by_role("button", name="Clear the conversation")
    messages = page.locator("[data-testid='stChatMessage']")
    if await clear.count():  # keep prompts short: one question, no history
        await clear.click()
        await page.wait_for_function("() => document.querySelectorAll(\"[data-testid='stChatMessage']\").length === 0",
                                     timeout=TIMEOUT_MS, polling=POLL_MS)
        await wait_app(page)
    before = await messages.count()  # the conversation so far (the Clear button shows from the 2nd answer on)
    await page.evaluate(TIMING_JS)
    await page.evaluate("n => Object.assign(window.__opl, {press: null, first: null, done: null, before: n})", before)
    box = page.get_by_placeholder("Ask the model something…")
    await box.fill(question)
    t0 = time.monotonic()
    await box.press("Enter")
    await page.wait_for_function("() => window.__opl.done !== null", timeout=TIMEOUT_MS, polling=POLL_MS)
    t_done = time.monotonic()
    caption = messages.nth(before + 1).get_by_text("first token after")
    m = STATS.search(await caption.inner_text())
    if not m:
        raise RuntimeError("no speed caption under the answer")
    n, decoder_tps, server_ttft = int(m.group(1)), float(m.group(2)), int(m.group(3))
    if n > MAX_NEW[0]:
        raise RuntimeError(f"an answer of {n} tokens: the max-new-tokens setting did not take")
    marks = await page.evaluate("() => window.__opl")
    if marks["press"] is None or marks["first"] is None or marks["done"] is None:
        raise RuntimeError(f"the page did not record its times: {marks}")
    ttft_s, answer_s = (marks["first"] - marks["press"]) / 1000, (marks["done"] - marks["press"]) / 1000
    errors = await page.locator("[data-testid='stException']").count()
    return {"t0": t0, "t_done": t_done, "ttft_ms": ttft_s * 1000, "answer_s": answer_s, "tokens": n,
            "browser_tps": (n - 1) / (answer_s - ttft_s) if n > 1 and answer_s > ttft_s else None,
            "decoder_tps": decoder_tps, "server_ttft_ms": server_ttft, "errors": errors}


async def generating(page, stop_at: float, out: list, errors: list, index: int):
    i = index
    while time.monotonic() < stop_at:
        try:
            r = await ask(page, QUESTIONS[i % len(QUESTIONS)])
            r["session"] = index
            out.append(r)
            if r["errors"]:
                errors.append(f"session {index}: an exception on the page")
        except Exception as exc:  # noqa: BLE001
            errors.append(f"session {index}: {type(exc).__name__}: {str(exc)[:200]}")
            return
        i += 1


async def browsing(ctx, url: str, stop_at: float, out: list, errors: list):
    """Open the explorer once, then go between it and the training-cost estimator through the
    sidebar, as a user does (each switch reruns the page's script on the server; the browser keeps
    the app loaded, as it does for a user, instead of reloading it for every page)."""
    page = await ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    paths = ["training-cost", "explorer"]
    try:
        await page.goto(f"{url}/explorer?lang=en", timeout=TIMEOUT_MS)
        await wait_app(page)
    except Exception as exc:  # noqa: BLE001
        errors.append(f"browse: opening the explorer: {type(exc).__name__}: {str(exc)[:200]}")
        return
    i = 0
    while time.monotonic() < stop_at:
        path = paths[i % 2]
        t0 = time.monotonic()
        try:
            # A DOM click, not a mouse one: the hover tooltip of the link last clicked can lie
            # over the next link and a pointer click then waits for it to move.
            await page.locator(f"[data-testid='stSidebarNav'] a[href$='/{path}']").first.evaluate("a => a.click()")
            await page.wait_for_url(f"**/{path}*", timeout=TIMEOUT_MS)
            await wait_app(page)
            out.append(time.monotonic() - t0)
            if await page.locator("[data-testid='stException']").count():
                errors.append(f"browse {path}: an exception on the page")
        except Exception as exc:  # noqa: BLE001
            errors.append(f"browse {path}: {type(exc).__name__}: {str(exc)[:200]}")
            return
        i += 1


async def phase(browser, url: str, n: int, seconds: float, n_browse: int, max_new: int, rss: RssSampler) -> dict:
    contexts = [await browser.new_context(viewport={"width": 1200, "height": 900}) for _ in range(n + n_browse)]
    answers, pages, errors = [], [], []
    opened = await asyncio.gather(*[open_generate(contexts[i], url, max_new) for i in range(n)], return_exceptions=True)
    for i, page in enumerate(opened):
        if isinstance(page, BaseException):
            errors.append(f"session {i}: opening the page: {page}")
    t_begin = time.monotonic()  # the window starts once every generation page is open and set
    cpu0, server_cpu0 = cpu_times(), process_cpu_s(rss.pid)
    stop_at = t_begin + seconds
    tasks = [generating(page, stop_at, answers, errors, i) for i, page in enumerate(opened)
             if not isinstance(page, BaseException)]
    tasks += [browsing(contexts[n + j], url, stop_at, pages, errors) for j in range(n_browse)]
    await asyncio.gather(*tasks)
    t_end = time.monotonic()
    cpu1, server_cpu1 = cpu_times(), process_cpu_s(rss.pid)
    for c in contexts:
        await c.close()
    window = answers  # answers started in the window (the last ones finish after it)
    span = max(1e-9, max((a["t_done"] for a in window), default=t_end) - t_begin)
    per_session = {}
    for a in window:
        s = per_session.setdefault(a["session"], [0, 0.0])
        s[0] += a["tokens"]
        s[1] += a["answer_s"]
    mem = rss.window(t_begin, t_end)
    return {
        "sessions": n, "browsing_sessions": n_browse, "answers": len(window), "errors": len(errors),
        "error_samples": errors[:5],
        "ttft_ms_p50": pct([a["ttft_ms"] for a in window], 50), "ttft_ms_p95": pct([a["ttft_ms"] for a in window], 95),
        "server_ttft_ms_p50": pct([a["server_ttft_ms"] for a in window], 50),
        "answer_s_p50": pct([a["answer_s"] for a in window], 50), "answer_s_p95": pct([a["answer_s"] for a in window], 95),
        "page_s_p50": pct(pages, 50), "page_s_p95": pct(pages, 95), "pages": len(pages),
        "tokens": sum(a["tokens"] for a in window),
        "aggregate_tps": round(sum(a["tokens"] for a in window) / span, 2),
        "per_session_tps_mean": round(statistics.mean(t / s for t, s in per_session.values()), 2) if per_session else None,
        "decoder_tps_p50": pct([a["decoder_tps"] for a in window], 50),
        "browser_tps_p50": pct([a["browser_tps"] for a in window if a["browser_tps"]], 50),
        # Where the machine's time went: a client core near 1.0 means the browsers, not the
        # server, set the pace of the browser-side figures.
        "server_cores_busy": busy_share(cpu0, cpu1, SERVER_CPUS) if SERVER_CPUS else None,
        "client_cores_busy": busy_share(cpu0, cpu1, CLIENT_CPUS) if CLIENT_CPUS else None,
        "server_process_cpu_s_per_s": round((server_cpu1 - server_cpu0) / max(1e-9, t_end - t_begin), 3),
        "rss_mb_start": round(mem[0], 1) if mem else None, "rss_mb_peak": round(max(mem), 1) if mem else None,
        "rss_mb_end": round(mem[-1], 1) if mem else None,
    }


def cli_speed(prompt: str, max_new: int, env: dict) -> dict:
    """The same chat prompt and sampling through `python -m core generate` (3 runs, median)."""
    runs = []
    for seed in (1, 2, 3):
        out = subprocess.run(PIN + [sys.executable, "-m", "core", "generate", "--chat", "--prompt", prompt,
                              "--max-new-tokens", str(max_new), "--temperature", "0.7", "--top-k", "50", "--top-p", "0.95",
                              "--repetition-penalty", "1.1", "--seed", str(seed), "--json"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-500:])
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {"cli_tps_p50": pct([r["tokens_per_second"] for r in runs], 50), "cli_ttft_ms_p50": pct([r["ttft_ms"] for r in runs], 50),
            "cli_tokens": [r["n_new_tokens"] for r in runs]}


async def main_async(args) -> dict:
    from playwright.async_api import async_playwright

    MAX_NEW[0] = args.max_new_tokens
    state = Path(tempfile.mkdtemp(prefix="opplab-serve-load-"))
    env = os.environ.copy()
    if args.server_cpus:  # the server (and the CLI run it is compared with) on its own cores,
        PIN[:] = ["taskset", "-c", args.server_cpus]  # Chromium and this driver on the others
        env["OPPLAB_TORCH_THREADS"] = str(len(cpu_list(args.server_cpus)))
        os.sched_setaffinity(0, cpu_list(args.client_cpus))
        SERVER_CPUS.update(cpu_list(args.server_cpus))
        CLIENT_CPUS.update(cpu_list(args.client_cpus))
    env.setdefault("OPPLAB_STATE_DIR", str(state))
    for name in ("base", "native"):  # the converted base models and the kernel of this checkout
        src = ROOT / ".state" / name
        if src.exists() and not (Path(env["OPPLAB_STATE_DIR"]) / name).exists():
            (Path(env["OPPLAB_STATE_DIR"]) / name).symlink_to(src)
    cli = cli_speed(QUESTIONS[0], args.max_new_tokens, env)
    print(json.dumps({"cli": cli}), flush=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(state / "server.log", "w")
    server = subprocess.Popen(PIN + [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true",
                               "--server.address=127.0.0.1", f"--server.port={port}", "--browser.gatherUsageStats=false",
                               "--server.fileWatcherType=none"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    rss = RssSampler(server.pid)
    try:
        deadline = time.time() + 120
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError("the server did not start: " + (state / "server.log").read_text()[-2000:])
                time.sleep(0.5)
        rss.start()
        results = {"cli": cli, "phases": []}
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            ctx = await browser.new_context()  # warm-up: load the model, one answer alone on the page
            page = await open_generate(ctx, url, args.max_new_tokens)
            await ask(page, QUESTIONS[0])
            alone = [await ask(page, QUESTIONS[0]) for _ in range(3)]
            await ctx.close()
            results["page_alone"] = {"browser_tps_p50": pct([a["browser_tps"] for a in alone if a["browser_tps"]], 50),
                                     "decoder_tps_p50": pct([a["decoder_tps"] for a in alone], 50),
                                     "ttft_ms_p50": pct([a["ttft_ms"] for a in alone], 50)}
            results["page_vs_cli"] = round(results["page_alone"]["browser_tps_p50"] / cli["cli_tps_p50"], 3) \
                if results["page_alone"]["browser_tps_p50"] and cli["cli_tps_p50"] else None
            print(json.dumps({"page_alone": results["page_alone"], "page_vs_cli": results["page_vs_cli"]}), flush=True)
            for n in args.sessions:
                r = await phase(browser, url, n, args.seconds, args.browsers, args.max_new_tokens, rss)
                results["phases"].append(r)
                print(json.dumps(r), flush=True)
            await browser.close()
        one = next((r for r in results["phases"] if r["sessions"] == 1), None)
        for r in results["phases"]:
            r["aggregate_vs_one"] = round(r["aggregate_tps"] / one["aggregate_tps"], 2) if one and one["aggregate_tps"] else None
        results["server_rss_mb"] = {"first": rss.samples[0][1] if rss.samples else None,
                                    "peak": max((mb for _, mb in rss.samples), default=None),
                                    "last": rss.samples[-1][1] if rss.samples else None}
        results["settings"] = {"server_cpus": args.server_cpus, "client_cpus": args.client_cpus, "seconds": args.seconds, "max_new_tokens": args.max_new_tokens, "browsing_sessions": args.browsers,
                               "max_decode_batch": int(os.environ.get("OPPLAB_MAX_DECODE_BATCH", "8")),
                               "cpus": os.cpu_count(), "load_average": os.getloadavg()}
        return results
    finally:
        rss.stop()
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, nargs="+", default=[1, 4, 8, 16])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--browsers", type=int, default=2, help="sessions browsing the explorer and estimators meanwhile")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--json", default=None)
    n = os.cpu_count() or 1
    half = max(1, n // 2)
    p.add_argument("--server-cpus", default=f"0-{half - 1}" if n >= 2 else "",
                   help="cores for the server and the CLI run (taskset list; empty: no pinning)")
    p.add_argument("--client-cpus", default=f"{half}-{n - 1}" if n >= 2 else "",
                   help="cores for Chromium and this driver: browsers run on users' machines, not on the server")
    args = p.parse_args()
    results = asyncio.run(main_async(args))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "phases"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
