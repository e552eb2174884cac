# libcrio — the one entry point.  Every output lands under build/.
#   make            library, crio-server, crioctl
#   make check      all tests (unit, headers, api, abi, pkg-config, integration)
#   make run        start crio-server on a scratch root and talk to it with crioctl
#   make bench      benchmarks;  make fuzz   run the fuzzers briefly
#   make deps       apt-get install every build and test dependency
#   make check SANITIZE=1   the same under AddressSanitizer + UBSan (+ LeakSanitizer)

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR ?=

CC ?= cc
CXX ?= c++
B := build
VERSION_MAJOR := $(shell sed -n 's/^\#define CRIO_VERSION_MAJOR \([0-9]*\)/\1/p' include/crio/version.h)
VERSION_MINOR := $(shell sed -n 's/^\#define CRIO_VERSION_MINOR \([0-9]*\)/\1/p' include/crio/version.h)
VERSION_PATCH := $(shell sed -n 's/^\#define CRIO_VERSION_PATCH \([0-9]*\)/\1/p' include/crio/version.h)
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)
SONAME := libcrio.so.$(VERSION_MAJOR)
SOFILE := libcrio.so.$(VERSION)

# libcrio.so links PKGS_LIB_LINK.  It only dlopens PKGS_LIB_DLOPEN, at the first image
# operation (lib/base/dlopen.c): their headers are used, their libraries are not linked.
PKGS_LIB_LINK := libcjson
PKGS_LIB_DLOPEN := libarchive libcrypto libcurl zlib libzstd
PKGS_LIB := $(PKGS_LIB_LINK) $(PKGS_LIB_DLOPEN)
PKGS_SERVER := libuv libnghttp2 libprotobuf-c libcjson
PKGS_CLI := libnghttp2 libprotobuf-c libcjson yaml-0.1
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS_LIB) $(PKGS_SERVER) $(PKGS_CLI) 2>/dev/null)

OPT ?= -O2
SAN_FLAGS :=
ifeq ($(SANITIZE),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT := -O1
endif
WARN := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wstrict-prototypes -Wmissing-prototypes
CFLAGS_ALL := -std=gnu11 -Ulinux $(OPT) -g $(WARN) -D_GNU_SOURCE -Iinclude -Ilib -I$(B)/gen $(PKG_CFLAGS) $(SAN_FLAGS) $(CFLAGS)
LDFLAGS_ALL := $(SAN_FLAGS) $(LDFLAGS)

LIB_SRCS := $(sort $(wildcard lib/*/*.c lib/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)
LIB_LIBS := $(shell pkg-config --libs $(PKGS_LIB_LINK) 2>/dev/null) -ldl -lpthread
# For the unit tests and benchmarks, which call these libraries themselves.
LIB_DLOPEN_LIBS := $(shell pkg-config --libs $(PKGS_LIB_DLOPEN) 2>/dev/null)

# proto/api.proto (the CRI) and proto/libcrio.proto (libcrio.v1: pull progress, import).
PROTOS := api libcrio
PROTO_C := $(PROTOS:%=$(B)/gen/%.pb-c.c)
PROTO_H := $(PROTOS:%=$(B)/gen/%.pb-c.h)
PROTO_OBJ := $(PROTOS:%=$(B)/obj/gen/%.pb-c.o)

SERVER_SRCS := $(sort $(wildcard server/*.c server/*/*.c))
SERVER_OBJS := $(SERVER_SRCS:%.c=$(B)/obj/%.o)
SERVER_CORE_OBJS := $(filter-out $(B)/obj/server/main.o,$(SERVER_OBJS))
SERVER_LIBS := $(shell pkg-config --libs $(PKGS_SERVER) 2>/dev/null)

CLI_SRCS := $(sort $(wildcard cli/*.c))
CLI_OBJS := $(CLI_SRCS:%.c=$(B)/obj/%.o)
CLI_CORE_OBJS := $(filter-out $(B)/obj/cli/main.o,$(CLI_OBJS))
CLI_LIBS := $(shell pkg-config --libs $(PKGS_CLI) 2>/dev/null)

UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/unit/%)
API_SRCS := $(sort $(wildcard tests/api/*.c))
API_BINS := $(API_SRCS:tests/api/%.c=$(B)/tests/api/%)
PUBLIC_HEADERS := $(sort $(wildcard include/crio/*.h))

BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(B)/bench/%)

PY := /usr/bin/python3

.PHONY: all lib check run demo bench fuzz install uninstall clean deps \
        check-unit check-api check-headers check-abi check-pkgconfig check-fixtures check-integration

all: lib $(B)/crio-server $(B)/crioctl $(B)/crio-monitor $(B)/crio-pause

lib: $(B)/$(SOFILE) $(B)/libcrio.a $(B)/libcrio.pc

# Rebuild everything when the flags change (SANITIZE=1 after a plain build).
$(B)/.flags: FORCE
	@mkdir -p $(B)
	@echo '$(CFLAGS_ALL) $(LDFLAGS_ALL)' | cmp -s - $@ || echo '$(CFLAGS_ALL) $(LDFLAGS_ALL)' > $@
FORCE:

$(B)/obj/%.o: %.c $(B)/.flags | $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(EXTRA_INC) -fPIC -fvisibility=hidden -MMD -MP -c $< -o $@

$(SERVER_OBJS): EXTRA_INC := -Iserver
$(CLI_OBJS): EXTRA_INC := -Icli

# One protoc-c run writes both files (a pattern rule's targets are made together).
$(B)/gen/%.pb-c.c $(B)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(B)/gen
	protoc-c --proto_path=proto --c_out=$(B)/gen $<
# Named as targets, so that make keeps them rather than delete them as intermediate files.
$(PROTO_C) $(PROTO_H):

$(PROTO_OBJ): $(B)/obj/gen/%.pb-c.o: $(B)/gen/%.pb-c.c $(B)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Wshadow -Wstrict-prototypes -Wmissing-prototypes,$(CFLAGS_ALL)) -fPIC -c $< -o $@

$(B)/$(SOFILE): $(LIB_OBJS) lib/libcrio.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/libcrio.map -Wl,--no-undefined \
	    -o $@ $(LIB_OBJS) $(LDFLAGS_ALL) -Wl,--as-needed $(LIB_LIBS)
	ln -sf $(SOFILE) $(B)/$(SONAME)
	ln -sf $(SONAME) $(B)/libcrio.so

$(B)/libcrio.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

PC_SUBST = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' -e 's|@PRIVATE_REQUIRES@|$(PKGS_LIB_LINK)|g' pkgconfig/libcrio.pc.in

# The build tree's copy names the default prefix; `make install` writes one
# for the prefix it installs to.
$(B)/libcrio.pc: pkgconfig/libcrio.pc.in include/crio/version.h
	$(PC_SUBST) > $@

# The daemon and the client link the shared library, as users' programs do.
$(B)/crio-server: $(SERVER_OBJS) $(PROTO_OBJ) $(B)/$(SOFILE)
	$(CC) -o $@ $(SERVER_OBJS) $(PROTO_OBJ) -L$(B) -lcrio -Wl,-rpath,'$$ORIGIN' $(LDFLAGS_ALL) $(SERVER_LIBS) -lpthread

$(B)/crioctl: $(CLI_OBJS) $(PROTO_OBJ) $(B)/$(SOFILE)
	$(CC) -o $@ $(CLI_OBJS) $(PROTO_OBJ) -L$(B) -lcrio -Wl,-rpath,'$$ORIGIN' $(LDFLAGS_ALL) $(CLI_LIBS)

# crio-monitor (one per container) and crio-pause (one per pod sharing a PID namespace) are
# self-contained: no libcrio, no pkg-config libraries, and linked -static, so that each stays
# under 1 MiB RSS and keeps running whatever happens to the installed libraries.  Under
# SANITIZE=1 they are linked dynamically instead, as the sanitizer runtimes need.
MONITOR_SRCS := $(sort $(filter-out monitor/pause.c,$(wildcard monitor/*.c)))
MONITOR_CFLAGS = -std=gnu11 -Ulinux $(OPT) -g $(WARN) -D_GNU_SOURCE -Ilib $(SAN_FLAGS) $(CFLAGS)
MONITOR_LDFLAGS = $(if $(SAN_FLAGS),,-static) $(LDFLAGS_ALL)

$(B)/crio-monitor: $(MONITOR_SRCS) $(wildcard monitor/*.h) lib/runtime/monitor.h $(B)/.flags
	$(CC) $(MONITOR_CFLAGS) -o $@ $(MONITOR_SRCS) $(MONITOR_LDFLAGS)

$(B)/crio-pause: monitor/pause.c $(B)/.flags
	$(CC) $(MONITOR_CFLAGS) -o $@ monitor/pause.c $(MONITOR_LDFLAGS)

# Unit tests see internal functions: they link the static library and the
# server/cli cores.
$(B)/tests/unit/%: tests/unit/%.c $(B)/libcrio.a $(SERVER_CORE_OBJS) $(CLI_CORE_OBJS) $(PROTO_OBJ) $(B)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Iserver -Icli -o $@ $< $(SERVER_CORE_OBJS) $(CLI_CORE_OBJS) $(PROTO_OBJ) $(B)/libcrio.a \
	    $(LDFLAGS_ALL) $(LIB_LIBS) $(LIB_DLOPEN_LIBS) $(SERVER_LIBS) $(CLI_LIBS) -lcriterion

# test_monitor runs the two programs; it finds them at ../../ from itself (that is, in $(B)).
$(B)/tests/unit/test_monitor: $(B)/crio-monitor $(B)/crio-pause
$(B)/tests/unit/test_runtime: $(B)/crio-monitor
$(B)/tests/api/test_pod: $(B)/crio-monitor $(B)/crio-pause

# Where an installed libcrio looks for crio-monitor and crio-pause last.
$(B)/obj/lib/runtime/runtime.o: EXTRA_INC := -DCRIO_LIBEXECDIR='"$(LIBEXECDIR)/crio"'

# API tests see only the public headers and link the shared library.
$(B)/tests/api/%: tests/api/%.c $(B)/$(SOFILE) $(B)/.flags
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(OPT) -g $(WARN) -Iinclude $(SAN_FLAGS) -o $@ $< -L$(B) -lcrio -Wl,-rpath,'$$ORIGIN/../..' \
	    $(LDFLAGS_ALL) -lcriterion

$(B)/bench/%: bench/%.c $(B)/libcrio.a $(B)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(B)/libcrio.a $(LDFLAGS_ALL) $(LIB_LIBS) $(LIB_DLOPEN_LIBS) $(shell pkg-config --libs libnghttp2) -lpthread

CHECK_SUITES := check-abi check-headers check-unit check-api check-pkgconfig check-fixtures check-integration

# Runs every suite even when one fails, then prints one line adding them up.
check: all
	@{ $(MAKE) --no-print-directory -k $(CHECK_SUITES); echo $$? > $(B)/check.rc; } 2>&1 | tee $(B)/check.log
	@sh tests/summary.sh $(B)/check.log
	@exit $$(cat $(B)/check.rc)

# Each binary is bounded in time: a hung test fails the run instead of stalling CI.
check-unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; timeout -k 10 300 $$t --jobs 1; done

check-api: $(API_BINS)
	@set -e; for t in $(API_BINS); do echo "== $$t"; timeout -k 10 300 $$t --jobs 1; done

check-headers: $(PUBLIC_HEADERS)
	@B=$(B) CC=$(CC) CXX=$(CXX) sh tests/headers/check-headers.sh $(PUBLIC_HEADERS)

check-abi: $(B)/$(SOFILE)
	@sh tests/abi/check-exports.sh $(B)/$(SOFILE) lib/libcrio.map include/crio

check-pkgconfig: lib
	@B=$(B) CC=$(CC) MAKE=$(MAKE) SAN_FLAGS="$(SAN_FLAGS)" sh tests/pkgconfig/check-pkgconfig.sh

# The test images and local registries (real docker-registry, skopeo, a token server).
check-fixtures:
	@B=$(B) $(PY) tests/fixtures/selftest.py

check-integration: all
	@B=$(B) $(PY) tests/integration/run.py

run demo: deps all
	@B=$(B) sh examples/demo.sh

bench: deps all $(BENCH_BINS)
	@B=$(B) sh bench/run.sh

fuzz:
	@$(MAKE) -s deps
	@B=$(B) sh tests/fuzz/run.sh

install: lib $(B)/crio-server $(B)/crioctl $(B)/crio-monitor $(B)/crio-pause
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/crio $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(BINDIR)
	install -m 0755 $(B)/$(SOFILE) $(DESTDIR)$(LIBDIR)/$(SOFILE)
	ln -sf $(SOFILE) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libcrio.so
	install -m 0644 $(B)/libcrio.a $(DESTDIR)$(LIBDIR)/libcrio.a
	install -m 0644 $(PUBLIC_HEADERS) $(DESTDIR)$(INCLUDEDIR)/crio/
	install -m 0644 include/crio.h $(DESTDIR)$(INCLUDEDIR)/crio.h
	$(PC_SUBST) > $(DESTDIR)$(PKGCONFIGDIR)/libcrio.pc && chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/libcrio.pc
	install -m 0755 $(B)/crio-server $(DESTDIR)$(BINDIR)/crio-server
	install -m 0755 $(B)/crioctl $(DESTDIR)$(BINDIR)/crioctl
	install -d $(DESTDIR)$(LIBEXECDIR)/crio
	install -m 0755 $(B)/crio-monitor $(B)/crio-pause $(DESTDIR)$(LIBEXECDIR)/crio/
	-[ -z "$(DESTDIR)" ] && ldconfig || true

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/$(SOFILE) $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libcrio.so
	rm -f $(DESTDIR)$(LIBDIR)/libcrio.a $(DESTDIR)$(PKGCONFIGDIR)/libcrio.pc $(DESTDIR)$(INCLUDEDIR)/crio.h
	rm -rf $(DESTDIR)$(INCLUDEDIR)/crio
	rm -f $(DESTDIR)$(BINDIR)/crio-server $(DESTDIR)$(BINDIR)/crioctl
	rm -f $(DESTDIR)$(LIBEXECDIR)/crio/crio-monitor $(DESTDIR)$(LIBEXECDIR)/crio/crio-pause

clean:
	rm -rf $(B)

# Build and test dependencies (Debian 12).  Quick when all are installed.
DEB_PKGS := build-essential pkg-config clang libclang-rt-14-dev \
    protobuf-c-compiler libprotobuf-c-dev libuv1-dev libnghttp2-dev \
    libcjson-dev libcriterion-dev runc libyaml-dev \
    libarchive-dev zlib1g-dev libzstd-dev libssl-dev libcurl4-openssl-dev \
    docker-registry skopeo zstd apache2-utils busybox-static python3-cryptography python3-jwt \
    python3 python3-grpcio python3-protobuf protobuf-compiler procps \
    containernetworking-plugins iptables iproute2
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "make deps: installing$$(echo $$missing | tr '\n' ' ')"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	fi

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
