# SPDX-License-Identifier: LGPL-2.1-or-later
"""TAP output for the Python tests of tools/ (test_convert.py, test_train.py):
numbered `ok`/`not ok` lines, details as `#` comments, the plan at the end
and a non-zero exit status if any case failed."""
import sys

_n = 0
_failed = 0


def case(name, ok, detail=""):
    """One test point; `detail` (its last 15 lines) follows as comments."""
    global _n, _failed
    _n += 1
    _failed += not ok
    print(f"{'ok' if ok else 'not ok'} {_n} - {name}", flush=True)
    for line in str(detail).strip().splitlines()[-15:]:
        print(f"# {line}")


def skip(name, why):
    global _n
    _n += 1
    print(f"ok {_n} - {name} # SKIP {why}", flush=True)


def finish():
    print(f"1..{_n}")
    sys.exit(1 if _failed else 0)
