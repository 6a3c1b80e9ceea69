# going — a thin layer over cargo (GNU make).
#
#   make              build the static binary and copy it to ./going
#   make TARGET=aarch64-unknown-linux-musl
#                     the same for 64-bit Arm, copied to ./going-aarch64
#   make run          build, then supervise examples/going.d until Ctrl-C
#                     (another TARGET's binary runs under EMULATOR)
#   make test         the test suite (unit and black-box)
#   make test-aarch64 the black-box tests against ./going-aarch64, run under
#                     EMULATOR (qemu-aarch64-static)
#   make check        rustfmt and clippy, warnings are errors
#   make size         binary sizes and VmPeak with the service table full
#   make bench        bench/run.sh $(BENCHFLAGS), then the log, readiness
#                     chain, confinement and cgroup benches
#   make fuzz         each fuzz target FUZZ_SECONDS (60) s; "skipped" without nightly
#   make soak         bench/soak.sh SOAK_SECONDS (600): 200 services under churn,
#                     then the model test for MODEL_STEPS (5000) random steps
#   make dist         dist/going-VERSION-ARCH.tar.gz (+ .sha256) for each of
#                     DIST_TARGETS (both architectures; DIST_TARGETS=… for one)
#   make doc          doc/html: the man pages as HTML, the internals (rustdoc)
#   make tag          annotated tag vVERSION on HEAD (tag-release.sh checks first)
#   make vm           boot examples/initramfs in qemu, console here (Ctrl-A X
#                     quits); VM_ARCH=aarch64 for the Arm one
#   make test-vm      the boot tests (tests/boot.rs, tests/pid1.rs), both arches
#   make install      PREFIX=/usr DESTDIR= (both may be set in the
#                     environment or on the command line); with TARGET= on
#                     the command line, installs that architecture's binary
#   make uninstall
#   make clean

# The target is chosen on the command line only; PREFIX and DESTDIR may
# also come from the environment.
DEFAULT_TARGET := x86_64-unknown-linux-musl
AARCH64_TARGET := aarch64-unknown-linux-musl
TARGET     := $(DEFAULT_TARGET)
ARCH       := $(firstword $(subst -, ,$(TARGET)))
BIN        := target/$(TARGET)/release/going
# What `make` copies out of target/: ./going for the default target,
# ./going-ARCH for another, so `make install` never takes one for the other.
OUT        := $(if $(filter $(DEFAULT_TARGET),$(TARGET)),going,going-$(ARCH))
VERSION    := $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' Cargo.toml | head -n 1)

CARGO      ?= cargo
RUSTUP     ?= rustup
INSTALL    ?= install
MANDOC     ?= mandoc
EMULATOR   ?= qemu-aarch64-static

PREFIX     ?= /usr
DESTDIR    ?=
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man

# Where `make run` puts its control socket: somewhere a normal user can write.
RUNDIR     ?= $(if $(TMPDIR),$(TMPDIR),/tmp)
BENCHFLAGS ?=
FUZZ_SECONDS ?= 60
SOAK_SECONDS ?= 600
VM_ARCH    ?= x86_64
MODEL_STEPS ?= 5000

DIST_TARGETS ?= $(DEFAULT_TARGET) $(AARCH64_TARGET)
DISTNAME   := going-$(VERSION)-$(ARCH)
# Tarballs are stamped with the last commit's time, so the same tree
# gives the same bytes.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)

# The black-box tests that run going themselves; tests/boot.rs boots its
# own VMs and has nothing to gain from the emulator.
EMULATED_TESTS := $(filter-out boot pid1,$(patsubst tests/%.rs,%,$(wildcard tests/*.rs)))

.PHONY: all build run install uninstall test test-aarch64 check size bench \
        fuzz soak dist dist-one doc tag clean musl-target lint-tools \
        vm test-vm aarch64

all: build

# The musl target is a no-op to check once it is installed; without rustup
# (a distribution's cargo) say so and let cargo report what is missing.
musl-target:
	@if command -v $(RUSTUP) >/dev/null 2>&1; then \
	    $(RUSTUP) target list --installed | grep -qx $(TARGET) \
	        || $(RUSTUP) target add $(TARGET); \
	else \
	    echo "note: $(RUSTUP) not found; cargo needs the $(TARGET) target" >&2; \
	fi

# The link itself drops the unwind tables and lays the binary out with no
# padding (.cargo/config.toml), so the binary is copied as it is.
COPY         := cp

build: musl-target
	$(CARGO) build --release --target $(TARGET)
	$(COPY) $(BIN) $(OUT)

# `install` takes what `make` built and builds only when it is missing,
# so `make && sudo make install` never runs cargo as root.
$(OUT):
	@$(MAKE) --no-print-directory build

# Another architecture's binary runs under EMULATOR.
RUN_WITH   := $(if $(filter $(DEFAULT_TARGET),$(TARGET)),,$(EMULATOR) )

run: build
	@echo "make run: examples/going.d, socket $(RUNDIR)/going.sock; Ctrl-C stops"
	$(RUN_WITH)./$(OUT) -d examples/going.d -s $(RUNDIR)/going.sock

test: musl-target
	$(CARGO) test --release

# The tests stay host programs and start host services; only going is the
# aarch64 build, run under the emulator (GOING_BIN, GOING_EMULATOR: see
# tests/common/mod.rs). Tests the emulator cannot run say SKIPPED.
test-aarch64: musl-target
	@command -v $(EMULATOR) >/dev/null 2>&1 || { echo "make test-aarch64:" \
	    "$(EMULATOR) not found (Debian: apt-get install qemu-user-static)" >&2; exit 1; }
	@$(MAKE) --no-print-directory build TARGET=$(AARCH64_TARGET)
	GOING_BIN=$(CURDIR)/going-aarch64 GOING_EMULATOR=$(EMULATOR) \
	    $(CARGO) test --release --no-fail-fast $(addprefix --test ,$(EMULATED_TESTS))

lint-tools:
	@$(CARGO) fmt --version >/dev/null 2>&1 || $(RUSTUP) component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || $(RUSTUP) component add clippy

check: musl-target lint-tools
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

size: musl-target
	@$(MAKE) --no-print-directory musl-target TARGET=$(AARCH64_TARGET)
	./size-report.sh

bench: build
	@test -f bench/run.sh || { echo "make bench: bench/run.sh not found" >&2; exit 1; }
	@if [ -x bench/run.sh ]; then bench/run.sh $(BENCHFLAGS); \
	 else bash bench/run.sh $(BENCHFLAGS); fi
	bash bench/logbench.sh
	bash bench/ready-chain.sh $(if $(filter --quick,$(BENCHFLAGS)),3,10)
	@if [ "$$(id -u)" = 0 ]; then $(if $(filter --quick,$(BENCHFLAGS)),ROUNDS=3) bash bench/confine-cost.sh; \
	 else echo "make bench: bench/confine-cost.sh needs root, skipped"; fi
	@if [ "$$(id -u)" = 0 ]; then bash bench/cgroup-cost.sh $(if $(filter --quick,$(BENCHFLAGS)),1,5); \
	 else echo "make bench: bench/cgroup-cost.sh needs root, skipped"; fi

fuzz:
	fuzz/run.sh $(FUZZ_SECONDS)

soak: build
	bench/soak.sh $(SOAK_SECONDS)
	GOING_MODEL_STEPS=$(MODEL_STEPS) $(CARGO) test --release --test model -- --nocapture

# One tarball per target: the binary, both man pages, LICENSE, README.md
# and SHA256SUMS of those, under going-VERSION-ARCH/; beside it its own
# checksum. Always a fresh build, so a tarball never holds a stale binary.
dist:
	@for t in $(DIST_TARGETS); do \
	    $(MAKE) --no-print-directory dist-one TARGET=$$t || exit 1; \
	done

dist-one: build
	rm -rf dist/$(DISTNAME)
	$(INSTALL) -d -m 755 dist/$(DISTNAME)
	$(INSTALL) -m 755 $(OUT) dist/$(DISTNAME)/going
	$(INSTALL) -m 644 man/going.8 man/going.5 LICENSE README.md dist/$(DISTNAME)/
	cd dist/$(DISTNAME) && sha256sum going going.8 going.5 LICENSE README.md >SHA256SUMS
	tar -C dist --sort=name --owner=0 --group=0 --numeric-owner \
	    --mtime=@$(SOURCE_DATE_EPOCH) -cf - $(DISTNAME) | gzip -9n >dist/$(DISTNAME).tar.gz
	rm -rf dist/$(DISTNAME)
	cd dist && sha256sum $(DISTNAME).tar.gz >$(DISTNAME).tar.gz.sha256
	@echo "make dist: dist/$(DISTNAME).tar.gz"

# The man pages through mandoc, the internals through rustdoc: the module
# comments are the design story, so private items are documented too.
doc:
	$(INSTALL) -d -m 755 doc/html/internals
	$(MANDOC) -Thtml -Wwarning -Oman=%N.%S.html man/going.8 >doc/html/going.8.html
	$(MANDOC) -Thtml -Wwarning -Oman=%N.%S.html man/going.5 >doc/html/going.5.html
	$(CARGO) doc --no-deps --document-private-items --bin going --target $(DEFAULT_TARGET)
	rm -rf doc/html/internals && cp -R target/$(DEFAULT_TARGET)/doc doc/html/internals
	@printf '%s\n' '<!DOCTYPE html>' '<meta charset="utf-8">' \
	    '<title>going $(VERSION)</title>' '<h1>going $(VERSION)</h1>' '<ul>' \
	    '<li><a href="going.8.html">going(8)</a>: the supervisor and its commands</li>' \
	    '<li><a href="going.5.html">going(5)</a>: the service file format</li>' \
	    '<li><a href="internals/going/index.html">internals</a>: the modules, as rustdoc shows them</li>' \
	    '<li><a href="../requirements.md">requirements</a>: kernel versions and non-portable calls</li>' \
	    '</ul>' >doc/html/index.html
	@echo "make doc: doc/html/index.html"

tag:
	./tag-release.sh

# The image, the kernel and qemu's command line come from the boot tests'
# harness (tests/vm/mod.rs), so `make vm` boots exactly what they boot; the
# aarch64 kernel and busybox come from tests/vm/fetch-arm64.sh.
vm: musl-target $(if $(filter aarch64,$(VM_ARCH)),aarch64)
	GOING_VM_INTERACTIVE=1 GOING_VM_ARCH=$(VM_ARCH) \
	    $(CARGO) test --release --test boot -- --ignored --exact vm_interactive --nocapture

test-vm: musl-target aarch64
	$(CARGO) test --release --test boot --test pid1

aarch64:
	@$(MAKE) --no-print-directory build TARGET=$(AARCH64_TARGET)

install: $(OUT)
	$(INSTALL) -d -m 755 $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	$(INSTALL) -m 755 $(OUT) $(DESTDIR)$(SBINDIR)/going
	$(INSTALL) -m 644 man/going.8 $(DESTDIR)$(MANDIR)/man8/going.8
	$(INSTALL) -m 644 man/going.5 $(DESTDIR)$(MANDIR)/man5/going.5

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/going \
	    $(DESTDIR)$(MANDIR)/man8/going.8 \
	    $(DESTDIR)$(MANDIR)/man5/going.5

clean:
	$(CARGO) clean
	rm -f going going-aarch64
	rm -rf dist doc/html
