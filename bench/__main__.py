"""Run every benchmark: `python -m bench` (or `make bench`).

`--quick` runs each on small inputs in a minute or two (`make bench-quick`),
so CI can check that the benchmarks still run; its figures mean nothing.
"""

import logging
import sys

from bench import (
    browser_encrypt_bench,
    crypto_bench,
    download_bench,
    inbox_bench,
    login_bench,
    submit_bench,
    triage_bench,
    upload_bench,
)

if __name__ == "__main__":
    logging.disable(logging.INFO)
    quick = "--quick" in sys.argv[1:]
    for module in (crypto_bench, login_bench, upload_bench, download_bench, submit_bench, inbox_bench, triage_bench, browser_encrypt_bench):
        module.main(quick=quick)
