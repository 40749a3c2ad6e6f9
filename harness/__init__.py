"""What the tests and the benchmarks share to drive a real enclave from outside; not part of the product."""
