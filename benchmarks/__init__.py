"""`make bench`: spawn latency, data throughput and the airlock's checks, measured side by side."""
