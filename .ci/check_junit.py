"""Check a pytest JUnit report: fail when no test ran or a test skipped for a forbidden reason.

pytest exits 5 when it collects nothing, and a suite whose tests all skip exits 0: neither
may pass CI unnoticed. CI has PostgreSQL, Redis and (usually) chromium, so a skip that says
one of them is missing means the run did not test what it claims to.

    python .ci/check_junit.py REPORT.xml [--forbid-skip REGEX ...]
"""

from __future__ import annotations

import argparse
import re
import sys
import xml.etree.ElementTree as ET


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("report")
    parser.add_argument("--forbid-skip", action="append", default=[], metavar="REGEX")
    args = parser.parse_args()
    try:
        root = ET.parse(args.report).getroot()  # noqa: S314
    except (OSError, ET.ParseError) as exc:
        print(f"FAIL: no usable test report at {args.report} ({exc})")
        return 1
    cases = list(root.iter("testcase"))
    failed = [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
    skipped = [(c, c.find("skipped")) for c in cases if c.find("skipped") is not None]
    passed = len(cases) - len(failed) - len(skipped)
    print(f"{args.report}: {len(cases)} tests, {passed} passed, {len(failed)} failed, "
          f"{len(skipped)} skipped")
    problems = []
    if not cases or passed == 0:
        problems.append("no test ran")
    for pattern in args.forbid_skip:
        for case, skip in skipped:
            reason = skip.get("message", "")
            if re.search(pattern, reason):
                problems.append(f"{case.get('classname')}::{case.get('name')} skipped: {reason}")
    for problem in problems:
        print(f"FAIL: {problem}")
    return 1 if problems or failed else 0


if __name__ == "__main__":
    sys.exit(main())
