# SPDX-License-Identifier: MIT
#
# numaclaim: the two commands that matter are `make run` and `make test`.
# Both first make sure the Debian packages are there (installing them when
# run as root), then build with Meson into build/.
#
#   make          build everything into build/ (checks packages, never installs);
#                 build/numaclaim is the command, build/xen holds the
#                 stand-in libxencall & co.
#   make run      packages, build, then the default boot storm
#   make test     packages, then every suite with gcc, clang+ASan+UBSan and
#                 clang+TSan (what CI runs)
#   make fuzz     every libFuzzer harness for FUZZ_TIME seconds (default
#                 600) each, then minimise its corpus (scripts/fuzz.sh)
#   make bench    release build in build/release, then bench/run.sh
#   make format   clang-format the tree
#   make clean    remove build/

BUILD := build

.PHONY: all build deps run test fuzz bench format clean

all: build

build:
	@scripts/deps.sh --check
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD)
	@ninja -C $(BUILD)

deps:
	@scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory build
	@$(BUILD)/numaclaim storm --json $(BUILD)/storm.json --svg $(BUILD)/storm.svg
	@echo "(also written: $(BUILD)/storm.json, $(BUILD)/storm.svg)"

test: deps
	@scripts/test.sh

fuzz: deps
	@scripts/fuzz.sh

bench: deps
	@[ -f $(BUILD)/release/build.ninja ] || \
		meson setup $(BUILD)/release -Dbuildtype=release -Db_lto=true -Dnc_debug=0 -Dtests=disabled
	@ninja -C $(BUILD)/release
	@bench/run.sh $(BUILD)/release --json $(BUILD)/bench.json
	@bench/storm-scale.sh $(BUILD)/release

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)
