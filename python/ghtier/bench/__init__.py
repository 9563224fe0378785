"""Python benchmarks: ``python -m ghtier.bench allocator [--json FILE] [--quick]``.

The JSON has the shape of ``ghtier bench --json`` (Google Benchmark's: a "context" object and a
"benchmarks" list whose entries carry name, real_time, time_unit, label and counters such as ratio and
baseline_us; a case that could not run has error_occurred and error_message). Later workload benchmarks
add their suites here.
"""
