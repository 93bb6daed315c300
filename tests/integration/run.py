"""Runs the integration tests and ends with the line 'N passed, N failed'."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    names = sys.argv[1:] or ["test_service"]
    suite = unittest.defaultTestLoader.loadTestsFromNames(names)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    # a failing setUpModule or setUpClass counts as a failure, not a test
    print("%d passed, %d failed" % (max(result.testsRun - failed, 0), failed))
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
