"""Runs Python test files and ends with the line 'N passed, N failed'.

    python3 tests/pyrun.py tests/integration/test_service.py [more files]
"""
import os
import sys
import unittest

# the helpers' package, tests/lib, imports as `lib`
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    suite = unittest.TestSuite()
    for path in sys.argv[1:]:
        folder, name = os.path.split(os.path.abspath(path))
        sys.path.insert(0, folder)
        suite.addTests(unittest.defaultTestLoader.loadTestsFromName(name[:-3]))
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    # a failing setUpModule or setUpClass counts as a failure, not a test
    print("%d passed, %d failed" % (max(result.testsRun - failed, 0), failed))
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
