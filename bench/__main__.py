"""Run every benchmark: `python -m bench` (or `make bench`)."""

from bench import crypto_bench, upload_bench

if __name__ == "__main__":
    for module in (crypto_bench, upload_bench):
        module.main()
