"""Time `make_sample` (target: 48 people at 256x192 in under 15 s) and the checker on its output.

    python benchmarks/sample.py [--n 48] [--size 256x192]

The last line of output is one JSON object.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from vtonlib.data import check_root
from vtonlib.data.sample import make_sample, parse_size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=48)
    parser.add_argument("--size", default="256x192")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        root = make_sample(Path(tmp) / "sample", n=args.n, size=parse_size(args.size), progress=False)
        sample_s = time.perf_counter() - start
        start = time.perf_counter()
        report = check_root(root)
        check_s = time.perf_counter() - start
    print(f"drew {args.n} people at {args.size} in {sample_s:.2f} s; checked them in {check_s:.2f} s "
          f"({'usable' if report.ok else 'NOT usable'})")
    print(json.dumps({"n": args.n, "size": args.size, "sample_s": round(sample_s, 2),
                      "people_per_s": round(args.n / sample_s, 1), "check_s": round(check_s, 2),
                      "usable": report.ok}))


if __name__ == "__main__":
    main()
