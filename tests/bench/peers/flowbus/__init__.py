"""flowbus's runner of the side-by-side benchmark (issue 10): the same six workloads as the peers."""
