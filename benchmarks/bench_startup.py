"""Start-up: whole processes of the quick commands against ``python -c pass``, in the same run.

Run: python benchmarks/bench_startup.py [--repeat N] [--before OTHER_CHECKOUT] [--instructions] [--json]

Each command runs N times (default 15) as a fresh ``python -m ecert ...`` process with this
checkout's ``src`` first on the path, interleaved with the baseline ``python -c pass``; the best
(minimum) wall time of each is kept, because other load on a shared machine only ever adds time.
Also printed: the median wall time and the least CPU time (user + system) of each process, whose
ratio to the baseline's is the steadiest figure on a loaded machine.  Bytecode is compiled
first (an installed package has its ``.pyc`` files; ``PYTHONDONTWRITEBYTECODE`` would otherwise
make every run compile every module).  ``--before`` runs each ``ecert`` process of another
checkout (its ``src``) as well, interleaved with this one's and on the same file, so that a change
is judged by two figures of the same run ("(before)" rows).  Goals (issue 18): ``ecert id check``
and ``ecert code check`` <= 0.06 s, ``ecert verify FILE`` <= 0.15 s.

``--instructions`` counts instead the instructions each process executes, once, under valgrind's
callgrind (``PYTHONHASHSEED=0``): about 30 s a process, but the same figure however loaded the
machine is, so a change of a few per cent shows where CPU times of a shared machine scatter by 10%.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

GOOD_ID = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"
GOOD_USCC = "91350100M000100Y43"
GOALS = {"id check": 0.06, "code check": 0.06, "verify FILE": 0.15}


def _verify_args(folder: Path) -> list[str]:
    """A certificate file and its trust anchor, issued with the library (tests/certs.py)."""
    from tests import certs

    data = folder / "one.ofd"
    data.write_bytes(certs.issued_file())
    trust = folder / "trust"
    trust.mkdir()
    (trust / "root.pem").write_bytes(certs.hierarchy().root_cert.to_pem())
    return ["verify", str(data), "--trust", str(trust), "--at", certs.NOW.isoformat()]


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{argv} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _instructions(argv: list[str], env: dict[str, str]) -> int:
    """Instructions one process executes (callgrind's ``Collected``)."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        env={**env, "PYTHONHASHSEED": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode not in (0, 1) or found is None:
        raise SystemExit(f"{argv} under valgrind failed ({done.returncode}): {done.stderr[-2000:]}")
    return int(found.group(1))


def _print_instructions(cases: dict[str, tuple[list[str], dict[str, str]]], as_json: bool) -> int:
    counts = {name: _instructions(cmd, env) for name, (cmd, env) in cases.items()}
    base = counts["python -c pass"]
    if as_json:
        ratios = {name: count / base for name, count in counts.items()}
        print(json.dumps({"instructions": counts, "ratio_to_baseline": ratios}, indent=2))
        return 0
    print("instructions of one process each (valgrind callgrind, PYTHONHASHSEED=0)")
    for name, count in counts.items():
        print(f"{name:<25}{count:>15,}{count / base:>9.3f}x")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=15, help="runs of each process (default 15)")
    parser.add_argument("--before", type=Path, help="another checkout whose src/ runs interleaved")
    parser.add_argument("--instructions", action="store_true", help="count instructions (valgrind)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.instructions and shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (apt-get install valgrind)")
    trees = {"": ROOT / "src"}
    if args.before is not None:
        trees[" (before)"] = args.before.resolve() / "src"
    for src in trees.values():
        compileall.compile_dir(str(src), quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "import ecert": [sys.executable, "-c", "import ecert"],
            "id check": [sys.executable, "-m", "ecert", "id", "check", GOOD_ID],
            "code check": [sys.executable, "-m", "ecert", "code", "check", GOOD_USCC],
            "verify FILE": [sys.executable, "-m", "ecert", *_verify_args(Path(tmp))],
        }
        own_env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        cases = {"python -c pass": ([sys.executable, "-c", "pass"], own_env)}
        for name, cmd in commands.items():
            for suffix, src in trees.items():
                cases[name + suffix] = (cmd, {**os.environ, "PYTHONPATH": str(src)})
        if args.instructions:
            return _print_instructions(cases, args.json)
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for cmd, env in cases.values():
            _run(cmd, env)  # warm the file cache
        for _ in range(args.repeat):
            for name, (cmd, env) in cases.items():
                runs[name].append(_run(cmd, env))
    base = min(w for w, _ in runs["python -c pass"])
    base_cpu = min(c for _, c in runs["python -c pass"])
    results = {}
    for name, figures in runs.items():
        best = min(w for w, _ in figures)
        cpu = min(c for _, c in figures)
        results[name] = {
            "best_s": best,
            "median_s": statistics.median(w for w, _ in figures),
            "cpu_s": cpu,
            "over_baseline_s": best - base,
            "ratio_to_baseline": best / base,
            "cpu_ratio_to_baseline": cpu / base_cpu,
        }
    load = os.getloadavg()
    if args.json:
        print(json.dumps({"results": results, "goals_s": GOALS, "loadavg": load}, indent=2))
        return 0
    print(f"best of {args.repeat} processes each; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    head = f"{'process':<25}{'best s':>9}{'median s':>10}{'- baseline':>12}{'ratio':>8}"
    print(f"{head}{'CPU s':>8}{'CPU ratio':>10}  goal")
    for name, r in results.items():
        goal = GOALS.get(name)
        verdict = "" if goal is None else f"<= {goal:.2f} s: {'met' if r['best_s'] <= goal else 'NOT met'}"
        print(
            f"{name:<25}{r['best_s']:>9.3f}{r['median_s']:>10.3f}{r['over_baseline_s']:>12.3f}"
            f"{r['ratio_to_baseline']:>7.2f}x{r['cpu_s']:>8.3f}{r['cpu_ratio_to_baseline']:>9.2f}x  {verdict}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
