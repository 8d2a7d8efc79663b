# The vendored suite is run in a subprocess by test_conformance.py (it needs its own
# environment variables and rootdir), never collected as part of ember's tests.
collect_ignore = ["vendor"]
