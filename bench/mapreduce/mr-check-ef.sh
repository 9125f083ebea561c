#!/bin/sh
# SPDX-License-Identifier: MIT
# Description: every MapReduce application on its small input under the
# EF variant (thread and process ICF x ring, pipe, unix, tcp),
# each output compared with the sequential reference.
set -u
bin=${MR_BIN:-bench/mapreduce}
run=${MR_RUN:-$(dirname "$0")/run.py}
exec python3 "$run" --check --size small --variants ef --bin "$bin"
