"""Run every benchmark: `python -m bench` (or `make bench`)."""

import logging

from bench import browser_encrypt_bench, crypto_bench, inbox_bench, upload_bench

if __name__ == "__main__":
    logging.disable(logging.INFO)
    for module in (crypto_bench, upload_bench, inbox_bench, browser_encrypt_bench):
        module.main()
