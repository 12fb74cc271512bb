"""Rule unit tests (``kpirules test``): YAML test files with fixed data and as-of dates.

``schema`` is the file format, ``series`` the compact series notation, ``runner`` loads and
runs a file, ``junit`` writes results for CI. docs/testing.md is the user's guide.
"""

from kpirules.ruletest.runner import CaseResult, Failure, FileResult, load, run_file
from kpirules.ruletest.schema import TestFileError

__all__ = ["CaseResult", "FileResult", "Failure", "TestFileError", "load", "run_file"]
