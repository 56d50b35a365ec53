"""Run golden sets of the original DCI-VTON / PF-AFN code against the course's code and print each output's
error (max abs difference over the original's std; timesteps and label maps: entries that differ).

    python benchmarks/parity.py [--golden DIR ...]

DIR is one set (a folder with manifest.json) or a folder of sets (default ../shared/parity: tiny, full,
afwm, data). The `full` set rebuilds viton512.yaml's 1.33 G parameters: about 11 GB of memory and 10 GB of
disk under --work while it runs. Last line: one JSON object {"sets": {name: {output: error}}, "pass": bool}.
"""

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

from vtonlib.parity import golden_sets, passed, run_golden_set, tolerance

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "parity"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--golden", nargs="+", default=[str(DEFAULT)], help="set folders or folders of sets")
    p.add_argument("--work", help="scratch folder for the rebuilt checkpoints (default: a temporary one)")
    a = p.parse_args()
    sets = []
    for given in map(Path, a.golden):
        sets += [given] if (given / "manifest.json").exists() else golden_sets(given)
    if not sets:
        print(f"no golden sets found in {a.golden}", file=sys.stderr)
        return 2
    results, ok = {}, True
    for set_dir in sets:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="parity-", dir=a.work) as work:
            errors = run_golden_set(set_dir, work)
        good = passed(errors)
        ok &= good
        print(f"\n{set_dir.name}: {'pass' if good else 'FAIL'} ({time.perf_counter() - start:.0f} s)")
        for name, e in errors.items():
            mark = "ok" if e <= tolerance(name) else "FAIL"
            print(f"  {name:32s} {e:10.3g}  (tolerance {tolerance(name):g})  {mark}")
        results[set_dir.name] = {k: (v if math.isfinite(v) else str(v)) for k, v in errors.items()}
    print(json.dumps({"sets": results, "pass": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
