#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run the MapReduce suite: every application under every variant.

For each application: generate its input (small or large) into a temporary
directory, compute the sequential reference, then run, round by round and
in a rotating order (so machine noise spreads over all variants), the
pthreads baseline and the EF variant under every ICF x channel mechanism
(XOS_ICF=thread|process, XOS_CHAN=ring|pipe|unix|tcp), all from the same
binary.  Every output is compared with the reference.  Prints a table of
time ratios to the pthreads baseline of the same run (medians), one
`figure: APP_ICF_MECHANISM_ratio = X ratio` line per variant, and draws a
PNG of grouped bars with gnuplot.

Exit status: 0 when every run matched the reference, 1 when one failed,
77 when every run exited 77 (an application may refuse a variant this
machine cannot run), 2 on usage errors.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

APPS = ["word_count", "histogram", "linear_regression", "string_match",
        "kmeans", "pca", "matrix_multiply"]
ICFS = ["thread", "process"]
MECHS = ["ring", "pipe", "unix", "tcp"]
EF_VARIANTS = [f"{i}_{m}" for i in ICFS for m in MECHS]
SKIP = 77


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", default=os.path.dirname(os.path.abspath(__file__)),
                   help="directory holding the application binaries")
    p.add_argument("--size", choices=["small", "large"], default="large")
    p.add_argument("--apps", default=",".join(APPS))
    p.add_argument("--variants", default="pthread,ef",
                   help="pthread, ef (all ICF x mechanism) or ICF_MECH names")
    p.add_argument("--rounds", type=int, default=None,
                   help="launches per variant, in rotating order (default 1)")
    p.add_argument("--reps", type=int, default=None,
                   help="timed repetitions inside each launch, after one warm-up "
                        "(default for large benchmarks: enough for about a second of "
                        "runs, 5 to 31; else 1)")
    p.add_argument("--data", help="input directory to use and keep (default: a temp dir)")
    p.add_argument("--table", help="also write the table to this file")
    p.add_argument("--plot", help="draw the ratios into this PNG with gnuplot")
    p.add_argument("--timeout", type=float, default=None, help="seconds per launch")
    p.add_argument("--check", action="store_true",
                   help="test mode: compare outputs, print no figures")
    a = p.parse_args()
    a.apps = [x for x in a.apps.split(",") if x]
    for x in a.apps:
        if x not in APPS:
            p.error(f"unknown application {x}")
    variants = []
    for v in a.variants.split(","):
        if v == "pthread":
            variants.append("pthread")
        elif v == "ef":
            variants += EF_VARIANTS
        elif v in EF_VARIANTS:
            variants.append(v)
        else:
            p.error(f"unknown variant {v}")
    a.variants = variants
    large = a.size == "large"
    a.rounds = a.rounds or 1
    a.auto_reps = a.reps is None and large and not a.check
    a.reps = a.reps or 1
    a.timeout = a.timeout or (300.0 if large else 60.0)
    return a


def launch(binary, mode, data, out, reps, env_extra, timeout):
    """Run one variant once; returns (status, {key: values} or None, message).

    The binary prints `time_ms = X` and, in pair mode, `ratios = ...` and
    `base_times_ms = ...` (one value per repetition).
    """
    env = dict(os.environ)
    env.pop("XOS_ICF", None)
    env.pop("XOS_CHAN", None)
    env.update(env_extra)
    cmd = [binary, "run", mode, data, out, str(reps)]
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "fail", None, f"timed out after {timeout:.0f} s"
    text = (r.stdout + r.stderr).strip()
    if r.returncode == SKIP:
        return "skip", None, text.splitlines()[-1] if text else "skipped"
    if r.returncode != 0:
        return "fail", None, f"exit {r.returncode}: {text[-400:]}"
    vals = {}
    for line in r.stdout.splitlines():
        if " = " in line:
            k, v = line.split(" = ", 1)
            try:
                vals[k.strip()] = [float(x) for x in v.split()]
            except ValueError:
                pass
    if "time_ms" not in vals:
        return "fail", None, f"no time_ms line in: {text[-200:]}"
    return "ok", vals, ""


def variant_env(v):
    if v == "pthread":
        return "pthread", {}
    icf, mech = v.split("_")
    return "ef", {"XOS_ICF": icf, "XOS_CHAN": mech}


def same_file(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def run_app(app, a, data, log):
    """{variant: (status, [times or ratios], message)} for one application.

    Check mode launches each variant alone and keeps its times.  Bench mode
    launches each EF variant in pair mode (EF and pthreads alternately in
    one process, so both see the same load) and keeps the per-repetition
    ratios; the pthreads entry then collects the baseline's times.
    """
    binary = os.path.join(a.bin, app)
    if not os.access(binary, os.X_OK):
        log(f"{app}: no binary {binary}")
        return {v: ("fail", [], "no binary") for v in a.variants}, False, {}
    r = subprocess.run([binary, "gen", data, a.size], capture_output=True, text=True)
    if r.returncode != 0:
        msg = f"gen failed: {(r.stdout + r.stderr).strip()}"
        log(f"{app}: {msg}")
        return {v: ("fail", [], msg) for v in a.variants}, False, {}
    ref = os.path.join(data, f"{app}.seq.out")
    st, vals, msg = launch(binary, "seq", data, ref, 1, {}, a.timeout)
    if st != "ok":
        log(f"{app}: sequential reference failed: {msg}")
        return {v: ("fail", [], "no reference") for v in a.variants}, False, {}
    log(f"{app}: sequential reference {vals['time_ms'][0]:.1f} ms")
    reps = a.reps
    if a.auto_reps:
        # Short applications get more repetitions: a median over ~1 s of
        # runs (the parallel run takes about half the sequential time).
        reps = max(5, min(31, int(2000.0 / max(vals["time_ms"][0], 1.0)) + 1))

    paired = not a.check and any(v != "pthread" for v in a.variants)
    res = {v: ["ok", [], ""] for v in a.variants}
    best = {k: {v: [] for v in a.variants} for k in EXTRA_TABLES}
    seen_skips = set()
    for rnd in range(a.rounds):
        k = rnd % len(a.variants)
        for v in a.variants[k:] + a.variants[:k]:
            if res[v][0] != "ok" or (paired and v == "pthread"):
                continue  # failed or skipped variants are not retried
            mode, env = variant_env(v)
            if paired:
                mode = "pair"
            out = os.path.join(data, f"{app}.{v}.out")
            st, vals, msg = launch(binary, mode, data, out, reps, env, a.timeout)
            if st == "ok":
                for o in [out] + ([out + ".pthread"] if paired else []):
                    if not same_file(o, ref):
                        st, msg = "fail", f"output differs from the sequential reference ({o})"
            if st == "skip":
                msg = msg.split("SKIP: ", 1)[-1]
            if st != "ok":
                res[v][0], res[v][2] = st, msg
                if msg not in seen_skips:
                    log(f"{app} {v}: {st.upper()}: {msg}")
                if st == "skip":
                    seen_skips.add(msg)
                continue
            if paired:
                res[v][1] += vals["ratios"]
                for k in EXTRA_TABLES:
                    best[k][v] += vals.get(k, [])
                if "pthread" in res:
                    res["pthread"][1] += vals["base_times_ms"]
                log(f"{app} {v}: ratio {statistics.median(vals['ratios']):.3f} "
                    f"(ef {vals['time_ms'][0]:.1f} ms, pthread {vals['base_ms'][0]:.1f} ms)")
            else:
                res[v][1] += vals["time_ms"]
                if a.check:
                    log(f"{app} {v}: ok ({vals['time_ms'][0]:.1f} ms)")
    return {v: tuple(x) for v, x in res.items()}, paired, best


def fmt_table(results, paired, a):
    ef = [v for v in a.variants if v != "pthread"]
    head = ["app", "pthread_ms"] + ef
    rows = []
    for app in a.apps:
        r = results[app]
        row = [app]
        base = None
        if "pthread" in r and r["pthread"][0] == "ok" and r["pthread"][1]:
            base = statistics.median(r["pthread"][1])
            row.append(f"{base:.1f}")
        else:
            row.append(r.get("pthread", ("-",))[0])
        for v in ef:
            st, times, _ = r[v]
            if st == "ok" and times and paired[app]:
                row.append(f"{statistics.median(times):.2f}")
            elif st == "ok" and times and base:
                row.append(f"{statistics.median(times) / base:.2f}")
            elif st == "ok" and times:
                row.append(f"{statistics.median(times):.1f}ms")
            else:
                row.append(st)
        rows.append(row)
    w = [max(len(x[i]) for x in [head] + rows) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w[i]) if i else c.ljust(w[i]) for i, c in enumerate(x))
             for x in [head] + rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


# Secondary tables of pair mode: {key printed by the binary: (column title, description)}.
EXTRA_TABLES = {
    "best_ratio": ("app (best/best)", "best EF time / best pthreads time (machine load only "
                   "adds time)"),
    "cpu_ratio": ("app (cpu/cpu)", "CPU time of the EF variant (every EF included) / CPU time "
                  "of the pthreads baseline: the work a variant adds, whatever the load"),
}


def fmt_best(best, kind, a):
    """A secondary table of pair mode (see EXTRA_TABLES)."""
    ef = [v for v in a.variants if v != "pthread"]
    rows = [[app] + [f"{statistics.median(best[app][kind][v]):.2f}"
                     if best[app].get(kind, {}).get(v) else "-" for v in ef] for app in a.apps]
    head = [EXTRA_TABLES[kind][0]] + ef
    w = [max(len(x[i]) for x in [head] + rows) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w[i]) if i else c.ljust(w[i]) for i, c in enumerate(x))
             for x in [head] + rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def ratios(results, paired, a):
    """{app: {variant: ratio}} for variants measured next to a baseline."""
    out = {}
    for app in a.apps:
        r = results[app]
        if not paired[app] and ("pthread" not in r or r["pthread"][0] != "ok"
                                     or not r["pthread"][1]):
            continue
        base = 1.0 if paired[app] else statistics.median(r["pthread"][1])
        out[app] = {v: statistics.median(t) / base for v, (st, t, _) in r.items()
                    if v != "pthread" and st == "ok" and t}
    return out


def plot(rat, a, png):
    ef = [v for v in a.variants if v != "pthread"]
    apps = [x for x in a.apps if x in rat]
    if not apps or not ef:
        print(f"plot: nothing measured, {png} not drawn")
        return False
    tmp = tempfile.mkdtemp(prefix="mr-plot-")
    dat = os.path.join(tmp, "ratios.dat")
    with open(dat, "w") as f:
        f.write("# app " + " ".join(ef) + "\n")
        for app in apps:
            f.write(app + " " +
                    " ".join(f"{rat[app][v]:.4f}" if v in rat[app] else "NaN" for v in ef) + "\n")
    colors = ["#1f77b4", "#6baed6", "#9ecae1", "#c6dbef",
              "#d62728", "#fb6a4a", "#fc9272", "#fcbba1"]
    ymax = max([v for r in rat.values() for v in r.values()] + [1.3])
    script = f"""
set terminal pngcairo size 1400,620 font "Sans,11"
set output "{png}"
set termoption noenhanced
set title "xos MapReduce suite ({a.size} inputs): time relative to the pthreads baseline (lower is better)"
set ylabel "time / pthreads time"
set style data histograms
set style histogram clustered gap 1.5
set style fill solid 0.9 border rgb "#333333"
set boxwidth 0.9
set key outside right top vertical title "ICF / channel"
set grid ytics
set yrange [0:{ymax * 1.12:.2f}]
set xtics nomirror
set arrow from graph 0, first 1.0 to graph 1, first 1.0 nohead lw 2 dt 2 lc rgb "black" front
set arrow from graph 0, first 1.10 to graph 1, first 1.10 nohead lw 1 dt 3 lc rgb "#1f77b4" front
set arrow from graph 0, first 1.25 to graph 1, first 1.25 nohead lw 1 dt 3 lc rgb "#d62728" front
set label "goals: thread/ring 1.10 (blue dots), process/ring 1.25 (red dots)" at graph 0.01, graph 0.97 left front
plot """ + ", \\\n     ".join(
        f'"{dat}" using {i + 2}:xtic(1) title "{v.replace("_", " / ")}" lc rgb "{colors[i % 8]}"'
        for i, v in enumerate(ef)) + "\n"
    gp = os.path.join(tmp, "plot.gp")
    with open(gp, "w") as f:
        f.write(script)
    r = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
    shutil.rmtree(tmp, ignore_errors=True)
    if r.returncode != 0:
        print(f"plot: gnuplot failed: {r.stderr.strip()}")
        return False
    print(f"plot: {png}")
    return True


def main():
    a = parse_args()
    log = lambda s: print(s, flush=True)
    data = a.data or tempfile.mkdtemp(prefix="xos-mr-")
    os.makedirs(data, exist_ok=True)
    results, paired, best = {}, {}, {}
    try:
        for app in a.apps:
            results[app], paired[app], best[app] = run_app(app, a, data, log)
            # Large inputs are hundreds of MB: drop each app's before the next.
            if not a.data:
                for f in os.listdir(data):
                    os.unlink(os.path.join(data, f))
    finally:
        if not a.data:
            shutil.rmtree(data, ignore_errors=True)

    statuses = [st for r in results.values() for st, _, _ in r.values()]
    table = fmt_table(results, paired, a)
    print()
    print(table)
    skipped = sorted({m for r in results.values() for st, _, m in r.values() if st == "skip"})
    for m in skipped:
        print(f"skipped: {m}")
    if not a.check:
        extra = [(k, fmt_best(best, k, a)) for k in EXTRA_TABLES] if any(paired.values()) else []
        for _, t in extra:
            print()
            print(t)
        rat = ratios(results, paired, a)
        for app in a.apps:
            for v in a.variants:
                if v != "pthread" and v in rat.get(app, {}):
                    print(f"figure: {app}_{v}_ratio = {rat[app][v]:.3f} ratio")
            r = results[app].get("pthread")
            if r and r[0] == "ok" and r[1]:
                print(f"figure: {app}_pthread_ms = {statistics.median(r[1]):.1f} ms")
        if a.table:
            with open(a.table, "w") as f:
                f.write(f"# {' '.join(sys.argv)}\n")
                reps = "5 to 31 (about a second of runs)" if a.auto_reps else str(a.reps)
                f.write(f"# {a.size} inputs; cells: median over {a.rounds} launch(es) x {reps} "
                        "repetitions of (EF variant time / pthreads time), the two run\n"
                        "# alternately in the same process; pthread_ms: median baseline time\n")
                f.write(table + "\n")
                for k, t in extra:
                    f.write(f"\n# the same runs, {EXTRA_TABLES[k][1]}:\n{t}\n")
                for m in skipped:
                    f.write(f"skipped: {m}\n")
        if a.plot:
            plot(rat, a, os.path.abspath(a.plot))
    if "fail" in statuses:
        print("FAILED: some runs failed or differ from the reference (see above)")
        return 1
    if statuses and all(s == "skip" for s in statuses):
        return SKIP
    return 0


if __name__ == "__main__":
    sys.exit(main())
