"""Run every benchmark: `python -m bench` (or `make bench`)."""

import logging

from bench import crypto_bench, inbox_bench, login_bench, triage_bench, upload_bench

if __name__ == "__main__":
    logging.disable(logging.INFO)
    for module in (crypto_bench, login_bench, upload_bench, inbox_bench, triage_bench):
        module.main()
