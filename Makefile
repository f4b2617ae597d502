# libethp2p — embeddable devp2p (RLPx + eth) in C11.
# make            build libethp2p.a, libethp2p.so (soname libethp2p.so.0) and ethp2p-tool
# make test       install missing Debian packages, build, run unit + interop tests
# make test SANITIZE=1   the same under AddressSanitizer + UndefinedBehaviorSanitizer
# make check-portable     compile lib/ with POSIX.1-2008 only and no Linux branches (seconds)
# make install PREFIX=/usr/local DESTDIR=...

# the version lives in include/ethp2p/ethp2p.h only
version_part = $(shell sed -n 's/^\#define P2P_VERSION_$(1) \([0-9][0-9]*\)$$/\1/p' include/ethp2p/ethp2p.h)
VERSION_MAJOR := $(call version_part,MAJOR)
VERSION_MINOR := $(call version_part,MINOR)
VERSION_PATCH := $(call version_part,PATCH)
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

# The loop's readiness back end: epoll (Linux's default) or poll (poll(2)
# and pipes, what macOS and the BSDs use; make BACKEND=poll builds it on
# Linux too, in its own directory: build-poll, build-san-poll).
BACKEND ?=
ifeq ($(BACKEND),poll)
BACKEND_CFLAGS := -DEP_BACKEND_POLL
BACKEND_DIR := -poll
else ifneq ($(filter-out epoll,$(BACKEND)),)
$(error BACKEND must be epoll or poll, not $(BACKEND))
endif

SANITIZE ?=
ifeq ($(SANITIZE),1)
BUILD ?= build-san$(BACKEND_DIR)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT ?= -O1
else ifeq ($(SANITIZE),thread)
# ThreadSanitizer (make tsan): its own build directory, as its objects
# cannot be mixed with the others.
BUILD ?= build-tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
OPT ?= -O1
else
BUILD ?= build$(BACKEND_DIR)
SANFLAGS :=
OPT ?= -O2
endif

DEP_PKGS := libsecp256k1 nettle libsodium snappy
TEST_PKGS := cmocka jansson
PKG_CFLAGS = $(shell pkg-config --cflags $(DEP_PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(DEP_PKGS) 2>/dev/null)
TEST_CFLAGS = $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)
# The $(shell) calls above stay quiet (make deps must run without them), so
# a missing dependency is reported here, in pkg-config's words, before
# anything is compiled, instead of as a missing header or symbol later.
.PHONY: check-pkgs check-test-pkgs
check-pkgs:
	@pkg-config --exists --print-errors $(DEP_PKGS) || \
	  { echo "pkg-config cannot find: $(DEP_PKGS) (make deps installs them)" >&2; exit 1; }
check-test-pkgs:
	@pkg-config --exists --print-errors $(TEST_PKGS) || \
	  { echo "pkg-config cannot find: $(TEST_PKGS) (make deps installs them)" >&2; exit 1; }

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
# Hardening by default, as distributions build: checked libc calls (FORTIFY,
# which needs an optimised build: left out when OPT has no -O1 or higher),
# stack canaries, and relocations read-only once bound at start.
HARDEN_CFLAGS := $(if $(filter -O1 -O2 -O3 -Os -Og -Ofast,$(OPT)),-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2) \
                 -fstack-protector-strong
HARDEN_LDFLAGS := -Wl,-z,relro,-z,now
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(OPT) -g $(HARDEN_CFLAGS) $(SANFLAGS) $(BACKEND_CFLAGS) -Iinclude -Ilib
# The library is also kept free of these (prototypes for every global
# function, no implicit narrowing or sign change): gcc and clang alike.
LIB_WARN := -Wmissing-prototypes -Wconversion
LIB_CFLAGS = $(BASE_CFLAGS) $(LIB_WARN) -fPIC -fvisibility=hidden -DP2P_BUILDING_LIBRARY $(PKG_CFLAGS) $(CFLAGS)
APP_CFLAGS = $(BASE_CFLAGS) $(PKG_CFLAGS) $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lpthread $(HARDEN_LDFLAGS)

LIB_SRCS := $(sort $(wildcard lib/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
STATIC_LIB := $(BUILD)/libethp2p.a
SHARED_REAL := $(BUILD)/libethp2p.so.$(VERSION)
SHARED_SONAME := libethp2p.so.$(VERSION_MAJOR)

# Test-only hooks (#ifdef EP_TEST_HOOKS in lib/: the key-file fault hook, a
# fixed frame MAC, a chosen handshake ephemeral key / output) exist only in a
# test copy of the objects that have them, linked into the test programs as
# libethp2p-test.a; the shipped libethp2p.a / .so never contain them.
TEST_HOOKS := -DEP_TEST_HOOKS
TEST_HOOK_SRCS := lib/core/keyfile.c lib/rlpx/frame.c lib/rlpx/handshake.c
TEST_HOOK_OBJS := $(TEST_HOOK_SRCS:%.c=$(BUILD)/obj-test/%.o)
TEST_LIB := $(BUILD)/libethp2p-test.a

TOOL_SRCS := $(sort $(wildcard examples/tool/*.c))
TOOL := $(BUILD)/ethp2p-tool

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
INTEROP_SRCS := $(sort $(wildcard tests/interop/test_*.c))
INTEROP_BINS := $(INTEROP_SRCS:tests/interop/%.c=$(BUILD)/tests/%)
TESTUTIL_OBJ := $(BUILD)/obj/tests/testutil.o
# The unit tests' shared helpers (the handle harness, the scripted adversary,
# the sync fixture), compiled once into an archive the unit tests link: each
# takes only the objects it calls.
TEST_HELP_SRCS := tests/unit/handle_harness.c tests/unit/adversary.c tests/unit/sync_fixture.c
TEST_HELP_OBJS := $(TEST_HELP_SRCS:tests/unit/%.c=$(BUILD)/obj/tests/%.o)
TEST_HELP_LIB := $(BUILD)/obj/tests/libtesthelp.a
INTEROP_UTIL_SRCS := $(sort $(wildcard tests/interop/util_*.c))
INTEROP_UTIL_OBJS := $(INTEROP_UTIL_SRCS:tests/interop/%.c=$(BUILD)/obj/tests/%.o)
# tests that run the tool find it here
export EP_TOOL := $(abspath $(TOOL))
export EP_BUILD := $(BUILD)
# The packaging and docs checks need no sanitizers, and Python cannot
# load a sanitized library without preloading the runtime: both run only in
# the plain build.
ifneq ($(SANITIZE),1)
PLAIN_CHECKS := tests/package/check.sh tests/python/run.sh tests/package/docs.sh tests/package/readme.sh
endif
export ETHP2P_LIB := $(abspath $(BUILD))/libethp2p.so

.PHONY: docs check-docs check-package all lib tool tests test unit interop deps npm-deps install uninstall clean check-exports fuzz fuzz-build

all: lib tool

lib: $(STATIC_LIB) $(BUILD)/libethp2p.so $(BUILD)/libethp2p.pc
tool: $(TOOL)
tests: $(UNIT_BINS) $(INTEROP_BINS)

$(BUILD)/obj/%.o: %.c | check-pkgs
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -MMD -MP -c $< -o $@

$(STATIC_LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/obj-test/%.o: %.c | check-pkgs
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) $(TEST_HOOKS) -MMD -MP -c $< -o $@

$(TEST_LIB): $(filter-out $(TEST_HOOK_SRCS:%.c=$(BUILD)/obj/%.o),$(LIB_OBJS)) $(TEST_HOOK_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(SHARED_REAL): $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,$(SHARED_SONAME) -Wl,--no-undefined $(SANFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/libethp2p.so: $(SHARED_REAL)
	ln -sf libethp2p.so.$(VERSION) $(BUILD)/$(SHARED_SONAME)
	ln -sf libethp2p.so.$(VERSION) $@

$(BUILD)/libethp2p.pc: pkgconfig/libethp2p.pc.in Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@

$(BUILD)/app/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) -MMD -MP -c $< -o $@

$(TOOL): $(TOOL_SRCS:%.c=$(BUILD)/app/%.o) $(STATIC_LIB)
	$(CC) $(SANFLAGS) -o $@ $(filter %.o,$^) $(STATIC_LIB) $(LDLIBS_ALL)

$(TESTUTIL_OBJ): tests/unit/testutil.c tests/unit/testutil.h | check-test-pkgs
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) $(TEST_HOOKS) $(TEST_CFLAGS) -MMD -MP -c $< -o $@

$(TEST_HELP_OBJS): $(BUILD)/obj/tests/%.o: tests/unit/%.c | check-test-pkgs
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) $(TEST_HOOKS) $(TEST_CFLAGS) -Itests/unit -MMD -MP -c $< -o $@

$(TEST_HELP_LIB): $(TEST_HELP_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/tests/%: tests/unit/%.c $(TESTUTIL_OBJ) $(TEST_HELP_LIB) $(TEST_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) $(TEST_HOOKS) $(TEST_CFLAGS) -Itests/unit -o $@ $< $(TEST_HELP_LIB) $(TESTUTIL_OBJ) $(TEST_LIB) $(TEST_LIBS) $(LDLIBS_ALL)

.SECONDARY: $(INTEROP_UTIL_OBJS) $(TESTUTIL_OBJ) $(TEST_HELP_OBJS)
$(BUILD)/obj/tests/util_%.o: tests/interop/util_%.c
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) $(TEST_HOOKS) $(TEST_CFLAGS) -Itests/unit -Itests/interop -MMD -MP -c $< -o $@

$(BUILD)/tests/%: tests/interop/%.c $(TESTUTIL_OBJ) $(INTEROP_UTIL_OBJS) $(TEST_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(APP_CFLAGS) $(TEST_HOOKS) $(TEST_CFLAGS) -Itests/unit -Itests/interop -o $@ $< $(TESTUTIL_OBJ) $(INTEROP_UTIL_OBJS) $(TEST_LIB) $(TEST_LIBS) $(LDLIBS_ALL)

# Debian packages the build, the tests and the examples need; installs only what is missing.
DEB_PKGS := build-essential pkg-config clang valgrind doxygen libsecp256k1-dev nettle-dev libsodium-dev \
            libsnappy-dev libcmocka-dev libjansson-dev liblmdb-dev libmicrohttpd-dev curl
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# The reference peer (@ethereumjs/devp2p), pinned by tests/interop/package-lock.json.
npm-deps: tests/interop/node_modules/.package-lock.json
tests/interop/node_modules/.package-lock.json: tests/interop/package.json tests/interop/package-lock.json
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

unit: $(UNIT_BINS) $(TOOL)
	@sh tests/run.sh unit $(UNIT_BINS)

interop: npm-deps $(INTEROP_BINS) $(TOOL)
	@sh tests/run.sh interop $(INTEROP_BINS)

test: deps
	$(MAKE) all tests examples
	$(MAKE) npm-deps
	@sh tests/run.sh all $(UNIT_BINS) $(INTEROP_BINS) $(PLAIN_CHECKS)

# The poll(2) back end (what macOS and the BSDs build) on Linux, in
# build-poll: the unit tests that drive a handle's loop and the interop tests that drive handles
# and the example programs through their own loops (RLPx, eth, sync and
# discovery against the npm peers, the validator under a request flood).
# About 4.5 minutes on 2 cores from a clean tree, 2 of them tests.
POLL_INTEROP := test_rlpx_interop test_eth_interop test_sync_interop test_disc_interop \
                test_e2e_flood
.PHONY: test-poll poll-suite
test-poll: deps
	$(MAKE) BACKEND=poll poll-suite
# (the unit tests that drive a handle's loop; the others do not touch it)
POLL_UNIT := $(filter $(addprefix $(BUILD)/tests/test_,alloc_fail api_% command_ring disc_handle \
               handle% hostile_% net_% relay reporting sync_api sync_handle),$(UNIT_BINS))
poll-suite: npm-deps all examples $(POLL_UNIT) $(POLL_INTEROP:%=$(BUILD)/tests/%)
	@sh tests/run.sh "test-poll ($(BUILD))" $(POLL_UNIT) $(POLL_INTEROP:%=$(BUILD)/tests/%)

# Every lib/ source compiled (not linked) as a system without Linux sees it:
# POSIX.1-2008 only (no _GNU_SOURCE / _DEFAULT_SOURCE), __linux__ undefined
# (the #ifdefs take their other branch), the poll back end and the pipe,
# Linux-only names poisoned (tests/portable/check.h), the library's warnings
# as errors. Then lib/core/sys.c, so compiled, is linked into
# tests/portable/sys_fallbacks.c and run, so its POSIX-only fallbacks run
# once. A few seconds; CI runs it with gcc and clang. It shows that no
# Linux-only call is left outside a guarded branch; it builds and runs
# nothing on macOS or a BSD.
PORTABLE_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -U__linux__ -U__linux -Ulinux -U__gnu_linux__ \
                  -DEP_BACKEND_POLL $(WARN) $(LIB_WARN) -DP2P_BUILDING_LIBRARY -Iinclude -Ilib \
                  -include tests/portable/check.h $(PKG_CFLAGS)
.PHONY: check-portable
check-portable: check-pkgs
	@fail=0; for f in $(LIB_SRCS); do \
	  $(CC) $(PORTABLE_CFLAGS) -fsyntax-only $$f || { echo "check-portable: $$f fails"; fail=1; }; \
	done; [ $$fail = 0 ] && \
	echo "check-portable: $(words $(LIB_SRCS)) lib/ sources compile with POSIX.1-2008 only, no Linux branches ($(CC))"
	@mkdir -p $(BUILD)/portable
	$(CC) $(PORTABLE_CFLAGS) tests/portable/sys_fallbacks.c lib/core/sys.c -o $(BUILD)/portable/sys_fallbacks
	$(BUILD)/portable/sys_fallbacks

check-exports: $(BUILD)/libethp2p.so $(STATIC_LIB)
	@bad=$$(nm -D --defined-only $(SHARED_REAL) | awk '$$2 ~ /^[TDBRVW]$$/ {print $$3}' | grep -v '^p2p_' || true); \
	if [ -n "$$bad" ]; then echo "non-p2p_ symbols exported:"; echo "$$bad"; exit 1; fi; \
	echo "check-exports: only p2p_ symbols exported"
	@sh tests/package/no_test_hooks.sh $(SHARED_REAL) $(STATIC_LIB)

check-docs:
	@sh tests/package/docs.sh

check-package: lib
	@sh tests/package/check.sh $(BUILD)

# API reference from the headers' doxygen comments (needs doxygen).
docs:
	@command -v doxygen >/dev/null 2>&1 || { echo "make docs: doxygen is not installed (apt-get install doxygen)"; exit 1; }
	@mkdir -p $(BUILD)/docs
	( cat Doxyfile; echo "OUTPUT_DIRECTORY=$(BUILD)/docs"; echo "PROJECT_NUMBER=$(VERSION)" ) | doxygen -
	@echo "make docs: open $(BUILD)/docs/html/index.html"

install: lib
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/ethp2p $(DESTDIR)$(PKGCONFIGDIR)
	install -m 0644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 0755 $(SHARED_REAL) $(DESTDIR)$(LIBDIR)/
	ln -sf libethp2p.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SHARED_SONAME)
	ln -sf $(SHARED_SONAME) $(DESTDIR)$(LIBDIR)/libethp2p.so
	install -m 0644 include/ethp2p/*.h $(DESTDIR)$(INCLUDEDIR)/ethp2p/
	install -m 0644 $(BUILD)/libethp2p.pc $(DESTDIR)$(PKGCONFIGDIR)/

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libethp2p.a $(DESTDIR)$(LIBDIR)/libethp2p.so.$(VERSION) \
	      $(DESTDIR)$(LIBDIR)/$(SHARED_SONAME) $(DESTDIR)$(LIBDIR)/libethp2p.so \
	      $(DESTDIR)$(PKGCONFIGDIR)/libethp2p.pc
	rm -rf $(DESTDIR)$(INCLUDEDIR)/ethp2p

# libFuzzer targets (clang): tests/fuzz/fuzz_<name>.c, seeds in tests/fuzz/corpus/<name>/,
# optional dictionary tests/fuzz/<name>.dict. make fuzz FUZZ_SECONDS=N runs each for N s.
FUZZ_BUILD := build-fuzz
FUZZ_SECONDS ?= 30
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 $(FUZZ_SAN) -Iinclude -Ilib $(TEST_HOOKS) $(PKG_CFLAGS)

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -DP2P_BUILDING_LIBRARY -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/%: tests/fuzz/%.c $(FUZZ_LIB_OBJS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJS) $(FUZZ_EXTRA) $(LDLIBS_ALL) -lstdc++

# Targets on the example programs' host code (fuzz_ex_*) include the sources
# they drive, as their unit tests do, and need the examples' libraries.
$(FUZZ_BUILD)/fuzz_ex_%: FUZZ_EXTRA = $(EX_CFLAGS) $(EX_LIBS)
$(filter $(FUZZ_BUILD)/fuzz_ex_%,$(FUZZ_BINS)): $(wildcard examples/common/*.c examples/common/*.h)

# keep the instrumented objects between runs (they are only named in a pattern rule)
.SECONDARY: $(FUZZ_LIB_OBJS)
# targets are rebuilt when the fuzz helpers change
$(FUZZ_BINS): $(wildcard tests/fuzz/*.h)

fuzz-build: deps $(FUZZ_BINS)

fuzz: fuzz-build
	@for b in $(FUZZ_BINS); do n=$$(basename $$b); t=$${n#fuzz_}; \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t; d=""; \
	  [ -f tests/fuzz/$$t.dict ] && d="-dict=tests/fuzz/$$t.dict"; \
	  seeds=""; [ -d tests/fuzz/corpus/$$t ] && seeds=tests/fuzz/corpus/$$t; \
	  echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
	  if ! $$b $(FUZZ_BUILD)/corpus/$$t $$seeds $$d -max_total_time=$(FUZZ_SECONDS) \
	       -print_final_stats=1 > $(FUZZ_BUILD)/$$t.log 2>&1; then \
	    tail -40 $(FUZZ_BUILD)/$$t.log; echo "fuzz $$t: FAILED"; exit 1; fi; \
	  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|^#[0-9]+.*DONE' $(FUZZ_BUILD)/$$t.log; \
	done

clean:
	rm -rf build build-san build-clang build-tsan build-poll build-san-poll build-tsan-poll $(FUZZ_BUILD)

# the example programs (validator, full node, make demo) and the benchmarks
include examples/Makefile.inc
include tests/bench/Makefile.inc

# Unit tests under valgrind memcheck (plain build): a representative set by
# default, VALGRIND_TESTS="test_x test_y" for others, VALGRIND_TESTS=all for every one.
VALGRIND_TESTS ?= test_rlp test_keccak test_secp test_keyfile test_enode test_ecies \
                  test_handshake test_frame test_snappy test_p2p_msg test_session \
                  test_eth_msg test_eth_peer test_forkid test_command_ring test_config \
                  test_handle test_handle_messages test_handle_peers test_reporting \
                  test_api_claims test_trie test_sync
.PHONY: valgrind
valgrind: deps all tests
	@command -v valgrind >/dev/null 2>&1 || { echo "make valgrind: apt-get install valgrind"; exit 1; }
	@if [ "$(VALGRIND_TESTS)" = all ]; then sh tests/unit/test_valgrind.sh $(BUILD); \
	 else sh tests/unit/test_valgrind.sh $(BUILD) $(VALGRIND_TESTS); fi

# The threaded tests (the command ring between host threads and the polling
# The threaded tests (the command ring between host threads and the polling
# thread, handles driven from several threads, the poller, the Keccak
# permutation switched while threads hash, the full node's seal workers) under
# ThreadSanitizer, built in build-tsan, and again with the poll back end (its
# watcher thread) in build-tsan-poll. Any reported race fails the run.
TSAN_TESTS := test_handle_threads test_command_ring test_net_poller test_keccak test_examples_verify
.PHONY: tsan
tsan: deps
	$(MAKE) SANITIZE=thread BUILD=build-tsan $(TSAN_TESTS:%=build-tsan/tests/%)
	$(MAKE) SANITIZE=thread BACKEND=poll BUILD=build-tsan-poll $(TSAN_TESTS:%=build-tsan-poll/tests/%)
	@TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 $${TSAN_OPTIONS:-}" \
	  sh tests/run.sh tsan $(TSAN_TESTS:%=build-tsan/tests/%) $(TSAN_TESTS:%=build-tsan-poll/tests/%)

-include $(shell find $(BUILD) $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
