"""Evaluation helpers shared by the test suite and the benchmarks: a real
``chalice local`` process, the schemathesis fuzz driver, the labelled
liveness clips and cases, synthetic heads for the pose solver. Never part of
the service (not packaged into Lambda) and never imported by chalicelib."""
