"""Registered datasets: their files and manifests (manifest.py), and the formats of what they hold that
the enclave reads and writes (genotypes.py, vcf.py; Hail started by hail_runtime.py)."""
