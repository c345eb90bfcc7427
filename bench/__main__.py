"""Run every benchmark: `python -m bench` (or `make bench`)."""

from bench import crypto_bench

if __name__ == "__main__":
    for module in (crypto_bench,):
        module.main()
