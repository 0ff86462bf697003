#!/bin/sh
# Validates every stix.json under an export directory with the OASIS STIX 2.1 validator.
# Usage: tests/scripts/stix_validate.sh OUT_DIR   (pip install stix2-validator)
set -eu
dir=${1:?usage: $0 EXPORT_DIR}
if command -v stix2_validator >/dev/null 2>&1; then
    validate="stix2_validator"
elif python3 -c 'import stix2validator' >/dev/null 2>&1; then
    validate="python3 -m stix2validator"
else
    echo "SKIPPED: stix2-validator not installed (pip install stix2-validator)" >&2
    exit 0
fi
status=0
for f in $(find "$dir" -name stix.json | sort); do
    if $validate --version 2.1 --strict "$f"; then :; else status=1; fi
done
exit $status
