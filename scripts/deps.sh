#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Make sure the Debian packages numaclaim builds and tests with are present.
#   scripts/deps.sh            check; as root install what is missing,
#                              otherwise print the exact apt-get line and fail
#   scripts/deps.sh --check    check only (never installs)
#
# The list is the one place that names them; README.md repeats it for people.
set -euo pipefail

PACKAGES=(
    gcc clang libclang-rt-dev      # compilers; clang's sanitizer runtimes
    llvm                           # llvm-symbolizer: sanitizer stacks with
                                   # names, which LSan's suppressions match
    meson ninja-build pkg-config   # the build
    libcmocka-dev                  # the test suites
    libxen-dev                     # Xen headers, libxenctrl, libxlutil
    libhwloc-dev                   # host topologies (hwloc:FILE.xml, local)
    libhwloc-plugins               # hwloc's libxml2 XML backend (tested too)
    libjansson-dev                 # numaclaim storm --json
    valgrind time                  # `make bench`: instruction counts, peak memory
    xen-utils-4.17                 # Debian's xen-hptool and xl, run on numaclaim
    libxml2-utils chromium         # the storm's SVG: xmllint, a browser render
)

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

if ! command -v dpkg-query >/dev/null 2>&1; then
    # Not Debian: we cannot ask the package manager, so check the tools.
    for tool in cc meson ninja pkg-config; do
        command -v "$tool" >/dev/null 2>&1 || {
            echo "numaclaim: '$tool' not found; install the equivalents of: ${PACKAGES[*]}" >&2
            exit 1
        }
    done
    exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$check_only" -eq 0 ] && [ "$(id -u)" -eq 0 ]; then
    echo "numaclaim: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
    exit 0
fi

echo "numaclaim: missing Debian packages: ${missing[*]}" >&2
echo "Install them with:" >&2
echo "    sudo apt-get install -y ${missing[*]}" >&2
exit 1
