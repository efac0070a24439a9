# reportd — plain GNU make. `make`, `make check`, `make check SANITIZE=address,undefined`,
# `make memcheck`, `make bench`, `make check-cluster` / `make bench-cluster` (root:
# network namespaces), `make install PREFIX=… DESTDIR=…`, `make clean`.
PREFIX  ?= /usr/local
DESTDIR ?=
SANITIZE ?=
WERROR  ?= -Werror
BUILD   ?= build
# The version: git describe of this tree (tags v*), else VERSION.
VERSION ?= 0.9.0
GIT_VERSION := $(shell git describe --tags --always --dirty --match 'v*' 2>/dev/null)
BUILD_VERSION := $(if $(GIT_VERSION),$(VERSION)-g$(patsubst v%,%,$(GIT_VERSION)),$(VERSION))

CC      ?= cc
PKGS    := libzmq libprotobuf-c yaml-0.1 libcrypto sqlite3 jansson libmicrohttpd libxml-2.0 libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
# reportctl needs neither the spool (SQLite, libpq) nor the metrics server (microhttpd).
CTL_PKGS := libzmq libprotobuf-c yaml-0.1 libcrypto jansson libxml-2.0
CTL_LIBS := $(shell pkg-config --libs $(CTL_PKGS)) -lpthread -lm

ifneq ($(SANITIZE),)
BUILD   := build-san
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

WARN    := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wwrite-strings -Wvla $(WERROR)
CFLAGS  ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -DREPORTD_DATADIR=\"$(PREFIX)/share/reportd\" $(WARN) $(CFLAGS) -I$(BUILD) -Idaemon $(PKG_CFLAGS) -MMD -MP
LDLIBS  := $(PKG_LIBS) -lpthread -lm
ALL_CFLAGS += $(SAN_FLAGS)

PROTO_C := $(BUILD)/report.pb-c.c
PROTO_O := $(BUILD)/report.pb-c.o
# daemon/<layer>/<module>.c -> $(BUILD)/obj/<layer>/<module>.o; the layers and
# their order are in scripts/check-layers.sh (make check runs it).
# Two archives: libreportd-daemon.a holds the layers only reportd runs (broker
# with its spool, worker, service), libreportd.a the rest; reportctl links
# only the second, so it does not link SQLite.
MAINS   := daemon/service/main.c daemon/ctl/ctl_main.c
DAEMON_SRC := $(filter-out $(MAINS),$(wildcard daemon/broker/*.c daemon/worker/*.c daemon/service/*.c))
LIB_SRC := $(filter-out $(MAINS) $(DAEMON_SRC),$(wildcard daemon/*/*.c))
LIB_OBJ := $(PROTO_O) $(patsubst daemon/%.c,$(BUILD)/obj/%.o,$(LIB_SRC))
DAEMON_OBJ := $(patsubst daemon/%.c,$(BUILD)/obj/%.o,$(DAEMON_SRC))
LIBS_A  := $(BUILD)/libreportd-daemon.a $(BUILD)/libreportd.a
# tests/<layer>/test_<module>.c mirror the daemon's folders; binaries are flat.
TEST_SRC := $(wildcard tests/*/test_*.c)
TEST_BIN := $(foreach t,$(TEST_SRC),$(BUILD)/tests/$(basename $(notdir $(t))))

.PHONY: all run check memcheck bench install clean
# Keep test objects between runs (they are intermediate files of a chain).
.SECONDARY:
all: $(BUILD)/reportd $(BUILD)/reportctl

$(BUILD)/report.pb-c.c $(BUILD)/report.pb-c.h: proto/report.proto
	@mkdir -p $(BUILD)
	protoc-c --proto_path=proto --c_out=$(BUILD) proto/report.proto

$(BUILD)/obj/%.o: daemon/%.c $(BUILD)/report.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(PROTO_O): $(PROTO_C)
	$(CC) -std=c11 -O2 -g -I$(BUILD) $(PKG_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(BUILD)/libreportd.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libreportd-daemon.a: $(DAEMON_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/reportd: $(BUILD)/obj/service/main.o $(LIBS_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs libsystemd libmicrohttpd 2>/dev/null)

# The daemon the end-to-end tests run: reportd plus the fault seam of
# tests/seams/worker_fault.c ($REPORTD_TEST_POISON, $REPORTD_TEST_DELAY_MS).
# Never installed.
$(BUILD)/tests/seams/%.o: tests/seams/%.c $(BUILD)/report.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/reportd-test: $(BUILD)/obj/service/main.o $(BUILD)/tests/seams/worker_fault.o $(LIBS_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs libsystemd libmicrohttpd 2>/dev/null)

$(BUILD)/reportctl: $(BUILD)/obj/ctl/ctl_main.o $(BUILD)/libreportd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CTL_LIBS)

define test_object
$(BUILD)/tests/$(basename $(notdir $(1))).o: $(1) $(BUILD)/report.pb-c.h
	@mkdir -p $(BUILD)/tests
	$$(CC) $$(ALL_CFLAGS) -Wno-missing-prototypes -Itests -c -o $$@ $$<
endef
$(foreach t,$(TEST_SRC) tests/bench.c tests/bench_pipeline.c tests/bench_abuse.c tests/bench_year.c,$(eval $(call test_object,$(t))))

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(LIBS_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs cmocka)
# test_broker makes the spool refuse a write through this link-time seam.
$(BUILD)/tests/test_broker: LDFLAGS += -Wl,--wrap=spool_put
# test_commit holds the spool's writer thread at COMMIT through this one.
$(BUILD)/tests/test_commit: LDFLAGS += -Wl,--wrap=sqlite3_exec

# The main job on the embedded default: check the bundled example offline
# (exit 1 from check means "the report has errors", the expected answer for
# this one), then the whole flow: reportd, a subscriber, a durable submission.
run: all
	$(BUILD)/reportctl check examples/xiangxiang-minzheng-2024.txt; test $$? -le 1
	REPORTD_BUILD=$(BUILD) sh scripts/demo.sh

# Tests run from the project root; they read ../shared/reports in place.
check: all $(BUILD)/reportd-test $(TEST_BIN)
	@sh scripts/check-layers.sh
	@sh scripts/check-tour.sh
	@REPORTD_BUILD=$(BUILD) sh scripts/check-seams.sh
	@set -e; for t in $(TEST_BIN); do echo "== $$t"; REPORTD_BUILD=$(BUILD) $$t; done
	@REPORTD_BUILD=$(BUILD) sh tests/cli.sh
	@REPORTD_BUILD=$(BUILD) sh tests/man.sh
	@sh tests/pg.sh
	@echo "== $(BUILD)/tests/test_store against a PostgreSQL server"; \
	  REPORTD_BUILD=$(BUILD) sh scripts/pg-test-server.sh run $(BUILD)/tests/test_store
	@echo "== $(BUILD)/tests/test_lead against a PostgreSQL server"; \
	  REPORTD_BUILD=$(BUILD) sh scripts/pg-test-server.sh run $(BUILD)/tests/test_lead
	@REPORTD_BUILD=$(BUILD) sh scripts/pg-test-server.sh run sh tests/pg_daemon.sh
	@REPORTD_BUILD=$(BUILD) sh scripts/pg-test-server.sh run sh tests/pg_lead.sh
	@REPORTD_BUILD=$(BUILD) sh scripts/pg-test-server.sh run sh tests/pg_check.sh
	@REPORTD_BUILD=$(BUILD) sh scripts/pg-test-server.sh run bash tests/pg_outage.sh
	@REPORTD_BUILD=$(BUILD) bash tests/pg_failover.sh
	@/usr/bin/python3 tests/mdp_interop.py titanic $(BUILD)/reportctl examples/xiangxiang-minzheng-2024.txt
	@/usr/bin/python3 tests/mdp_interop.py watch $(BUILD)/reportctl
	@REPORTD_BUILD=$(BUILD) sh tests/systemd.sh
	@REPORTD_BUILD=$(BUILD) bash tests/e2e.sh
	@REPORTD_BUILD=$(BUILD) bash tests/soak.sh
	@REPORTD_BUILD=$(BUILD) bash tests/ops.sh
	@REPORTD_BUILD=$(BUILD) bash tests/curve.sh
	@echo "make check: all test programs passed"

memcheck: all $(BUILD)/reportd-test $(TEST_BIN)
	@sh scripts/check-layers.sh
	@sh scripts/check-tour.sh
	@set -e; for t in $(TEST_BIN); do echo "== valgrind $$t"; \
	  REPORTD_BUILD=$(BUILD) valgrind -q --error-exitcode=1 --leak-check=full \
	    --errors-for-leak-kinds=definite,indirect $$t; done

bench: all $(BUILD)/bench
	$(BUILD)/bench

$(BUILD)/bench: $(BUILD)/tests/bench.o $(LIBS_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The Python reference worker (issue 10): its protobuf code is generated here
# at bench time, never committed. bytes -> bytes against reportd, after its
# Results were checked field for field against reportd's.
PY_PB := $(BUILD)/py/report_pb2.py
$(PY_PB): proto/report.proto
	@mkdir -p $(BUILD)/py
	protoc --proto_path=proto --python_out=$(BUILD)/py proto/report.proto

.PHONY: bench-python
bench: bench-python
bench-python: $(BUILD)/bench $(PY_PB)
	REPORTD_BUILD=$(BUILD) REPORTD_PB_PY=$(BUILD)/py /usr/bin/python3 tests/bench/ref_bench.py


# Pipeline benchmark (issue 3): broker + spool + workers over 127.0.0.1, and
# the raw ZeroMQ request-reply rate at the same message size as reference.
.PHONY: bench-pipeline
bench: bench-pipeline
bench-pipeline: all $(BUILD)/bench_pipeline $(PY_PB)
	REPORTD_BUILD=$(BUILD) REPORTD_PB_PY=$(BUILD)/py $(BUILD)/bench_pipeline

$(BUILD)/bench_pipeline: $(BUILD)/tests/bench_pipeline.o $(LIBS_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The broker's memory under abuse (issue 9): unread reportd.replay answers and
# one-off service names, on the real `reportd broker` process.
.PHONY: bench-abuse
bench: bench-abuse
bench-abuse: all $(BUILD)/bench_abuse
	REPORTD_BUILD=$(BUILD) $(BUILD)/bench_abuse

$(BUILD)/bench_abuse: $(BUILD)/tests/bench_abuse.o $(LIBS_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A national year (issue 10): 150,000 durable submissions (N= for fewer)
# through the embedded reportd — wall time, bytes written per submission, the
# spool against what retention keeps.
.PHONY: bench-year
bench: bench-year
bench-year: all $(BUILD)/bench_year
	REPORTD_BUILD=$(BUILD) $(BUILD)/bench_year

$(BUILD)/bench_year: $(BUILD)/tests/bench_year.o $(LIBS_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Broker memory with 100,000 pending jobs and no workers (issue 9): RSS with
# the backlog and after a restart on it, under spool.window.
.PHONY: bench-backlog
bench: bench-backlog
bench-backlog: all
	REPORTD_BUILD=$(BUILD) bash scripts/bench-backlog.sh

# Several brokers on one PostgreSQL (issue 11 item 2): the broker's per-batch
# transactions under pgbench with 1 and 2 connections, on the test server.
.PHONY: bench-pglead
bench: bench-pglead
bench-pglead: all
	REPORTD_BUILD=$(BUILD) sh scripts/pg-test-server.sh run sh scripts/bench-pglead.sh

# The multi-host test and its figures (issue 11): hosts are network namespaces
# with 198.18.0.0/15 addresses, so they need root; .ci/run runs check-cluster.
.PHONY: check-cluster bench-cluster
check-cluster: all
	REPORTD_BUILD=$(BUILD) bash tests/cluster.sh
bench-cluster: all
	REPORTD_BUILD=$(BUILD) bash tests/cluster.sh --bench

# The whole flow on the embedded default: reportd, a subscriber, the examples.
.PHONY: demo
demo: all
	REPORTD_BUILD=$(BUILD) sh scripts/demo.sh

# Configs in /etc/reportd are examples the first time and the operator's
# after: an existing file is never overwritten.
ETC_FILES := reportd.yaml:config/reportd.yaml broker.yaml:config/broker.yaml \
             worker-1.yaml:config/worker.yaml
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/reportd/layouts $(DESTDIR)/etc/reportd
	install -m 755 $(BUILD)/reportd $(BUILD)/reportctl $(DESTDIR)$(PREFIX)/bin/
	install -m 644 config/layouts/*.yaml $(DESTDIR)$(PREFIX)/share/reportd/layouts/
	install -m 644 config/regions.tsv $(DESTDIR)$(PREFIX)/share/reportd/
	@for f in $(ETC_FILES); do dst=$(DESTDIR)/etc/reportd/$${f%%:*}; \
	  if [ -e "$$dst" ]; then echo "kept $$dst (exists; the new example is $${f#*:})"; \
	  else echo "install -m 644 $${f#*:} $$dst"; install -m 644 "$${f#*:}" "$$dst" || exit 1; fi; done
	install -d $(DESTDIR)$(PREFIX)/share/doc/reportd
	install -m 644 README.md config/alerts.yml $(DESTDIR)$(PREFIX)/share/doc/reportd/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 644 man/reportctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 man/reportd.yaml.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 man/reportd.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	for u in systemd/*; do sed 's|/usr/local|$(PREFIX)|g' $$u > $(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$u); done

# util.o compiles PREFIX in (REPORTD_DATADIR): rebuild it when PREFIX changes,
# so `make install PREFIX=/usr` after a plain `make` installs the right paths.
$(BUILD)/prefix.stamp: FORCE
	@mkdir -p $(BUILD); echo '$(PREFIX)' | cmp -s - $@ || echo '$(PREFIX)' > $@
$(BUILD)/obj/base/util.o: $(BUILD)/prefix.stamp
# version.o compiles the version in: rebuild it when the version changes.
$(BUILD)/version.stamp: FORCE
	@mkdir -p $(BUILD); echo '$(BUILD_VERSION)' | cmp -s - $@ || echo '$(BUILD_VERSION)' > $@
$(BUILD)/obj/base/version.o: $(BUILD)/version.stamp
$(BUILD)/obj/base/version.o: ALL_CFLAGS += -DREPORTD_VERSION=\"$(BUILD_VERSION)\"
.PHONY: FORCE
FORCE:

clean:
	rm -rf build build-san build-fuzz

-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/tests/*.d $(BUILD)/tests/seams/*.d)
-include tests/fuzz/fuzz.mk
