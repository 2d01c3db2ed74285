"""flowbus against Temporal, DBOS and Restate: the same six workloads on each engine, one machine, one run."""
