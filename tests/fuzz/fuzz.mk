# libFuzzer targets (clang from Debian: clang-14, libclang-rt-14-dev).
#   make fuzz [FUZZ_SECONDS=60]   build, make seed corpora, run each target N seconds
#   make fuzz-smoke               the same for ~10 s each (.ci/run)
#   make fuzz-build               only build them
# Everything goes to $(FUZZ_BUILD), built by a recursive make of this Makefile
# with clang and -fsanitize=fuzzer-no-link,address,undefined. Seeds are made at
# run time from examples/ and ../shared/reports (tests/fuzz/mkseeds.c) plus
# the small hand-written ones in tests/fuzz/corpus/<target>/; the inputs kept
# in tests/regress/<target>/ are read too. A crash stops the run; its input is
# in $(FUZZ_BUILD)/artifacts/<target>/ — keep it under tests/regress/<target>/.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_MAXLEN  ?= 131072
FUZZ_TARGETS := submission text layout flat digitsplit yaml pb config mdp html pdf dispatch envelope
# pdf forks pdftotext for every input: short inputs keep the smoke run useful.
FUZZ_MAXLEN_pdf := 8192
FUZZ_SAN     := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
                -fno-sanitize-recover=all
FUZZ_DOCS     = $(wildcard examples/*.txt ../shared/reports/*.txt ../shared/reports/*.html \
                  ../shared/reports/*.pdf)

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-bins fuzz-seeds
fuzz-build:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) CFLAGS="-O1 -g" WERROR= \
	  SAN_FLAGS="$(FUZZ_SAN)" LDFLAGS="-fsanitize=address,undefined" fuzz-bins

# Inside the recursive make: BUILD is $(FUZZ_BUILD) and CC is clang.
fuzz-bins: $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS)) $(BUILD)/fuzz/mkseeds

# dispatch drives the broker (libreportd-daemon.a, SQLite) through its seam.
$(BUILD)/fuzz/fuzz_dispatch: tests/fuzz/fuzz_dispatch.c tests/fuzz/dispatch_driver.h $(LIBS_A)
	@mkdir -p $(BUILD)/fuzz
	$(CC) $(filter-out -MMD -MP,$(ALL_CFLAGS)) -Werror -Itests -fsanitize=fuzzer -o $@ $< \
	  $(LIBS_A) $(LDLIBS)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_targets.h $(BUILD)/libreportd.a
	@mkdir -p $(BUILD)/fuzz
	$(CC) $(filter-out -MMD -MP,$(ALL_CFLAGS)) -Werror -Itests -fsanitize=fuzzer -o $@ $< \
	  $(BUILD)/libreportd.a $(LDLIBS)

$(BUILD)/fuzz/mkseeds: tests/fuzz/mkseeds.c $(BUILD)/libreportd.a
	@mkdir -p $(BUILD)/fuzz
	$(CC) $(filter-out -MMD -MP,$(ALL_CFLAGS)) -Werror -o $@ $< $(BUILD)/libreportd.a $(LDLIBS)

fuzz-seeds: fuzz-build
	@rm -rf $(FUZZ_BUILD)/seeds && mkdir -p $(FUZZ_BUILD)/seeds
	$(FUZZ_BUILD)/fuzz/mkseeds $(FUZZ_BUILD)/seeds $(FUZZ_DOCS)
	@mkdir -p $(FUZZ_BUILD)/seeds/config && cp config/reportd.yaml $(FUZZ_BUILD)/seeds/config/

# Each target: a writable corpus in the build dir, then the read-only seeds.
fuzz: fuzz-seeds
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts/$$t; \
	  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(FUZZ_BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=$$(test $$t = pdf && echo $(FUZZ_MAXLEN_pdf) || echo $(FUZZ_MAXLEN)) \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t/ \
	    $(FUZZ_BUILD)/corpus/$$t \
	    $$(for d in $(FUZZ_BUILD)/seeds/$$t tests/fuzz/corpus/$$t tests/regress/$$t; do \
	         test -d $$d && echo $$d; done | sort -u) \
	    2>$(FUZZ_BUILD)/fuzz_$$t.log || { tail -60 $(FUZZ_BUILD)/fuzz_$$t.log; \
	      echo "fuzz_$$t failed: keep the input in $(FUZZ_BUILD)/artifacts/$$t/ as tests/regress/$$t/"; \
	      exit 1; }; \
	  grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^Done' $(FUZZ_BUILD)/fuzz_$$t.log; \
	done
	@echo "make fuzz: every target ran $(FUZZ_SECONDS) s without a crash"

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10
