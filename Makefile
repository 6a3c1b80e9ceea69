# going — a thin layer over cargo (GNU make).
#
#   make              build the static binary and copy it to ./going
#   make run          build, then supervise examples/going.d until Ctrl-C
#   make test         the test suite (unit and black-box)
#   make check        rustfmt and clippy, warnings are errors
#   make size         binary size and VmPeak with the service table full
#   make bench        bench/run.sh $(BENCHFLAGS)
#   make fuzz         each fuzz target FUZZ_SECONDS (60) s; "skipped" without nightly
#   make soak         bench/soak.sh SOAK_SECONDS (600): 200 services under churn,
#                     then the model test for MODEL_STEPS (5000) random steps
#   make install      PREFIX=/usr DESTDIR= (both may be set in the
#                     environment or on the command line)
#   make uninstall
#   make clean

TARGET     := x86_64-unknown-linux-musl
BIN        := target/$(TARGET)/release/going

CARGO      ?= cargo
RUSTUP     ?= rustup
INSTALL    ?= install
OBJCOPY    ?= objcopy

PREFIX     ?= /usr
DESTDIR    ?=
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man

# Where `make run` puts its control socket: somewhere a normal user can write.
RUNDIR     ?= $(if $(TMPDIR),$(TMPDIR),/tmp)
BENCHFLAGS ?=
FUZZ_SECONDS ?= 60
SOAK_SECONDS ?= 600
MODEL_STEPS ?= 5000

.PHONY: all build run install uninstall test check size bench fuzz soak clean \
        musl-target lint-tools

all: build

# The musl target is a no-op to check once it is installed; without rustup
# (a distribution's cargo) say so and let cargo report what is missing.
musl-target:
	@if command -v $(RUSTUP) >/dev/null 2>&1; then \
	    $(RUSTUP) target list --installed | grep -q $(TARGET) \
	        || $(RUSTUP) target add $(TARGET); \
	else \
	    echo "note: $(RUSTUP) not found; cargo needs the $(TARGET) target" >&2; \
	fi

# The unwind tables come from precompiled objects and are never read: with
# panic = "abort" nothing unwinds. Dropping them saves 16 KiB on disk and
# in VmPeak, which counts the mapped binary.
build: musl-target
	$(CARGO) build --release
	$(OBJCOPY) -R .eh_frame -R .eh_frame_hdr $(BIN) going

# `install` takes what `make` built and builds only when ./going is missing,
# so `make && sudo make install` never runs cargo as root.
going:
	@$(MAKE) --no-print-directory build

run: build
	@echo "make run: examples/going.d, socket $(RUNDIR)/going.sock; Ctrl-C stops"
	./going -d examples/going.d -s $(RUNDIR)/going.sock

test: musl-target
	$(CARGO) test --release

lint-tools:
	@$(CARGO) fmt --version >/dev/null 2>&1 || $(RUSTUP) component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || $(RUSTUP) component add clippy

check: musl-target lint-tools
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

size: musl-target
	./size-report.sh

bench: build
	@test -f bench/run.sh || { echo "make bench: bench/run.sh not found" >&2; exit 1; }
	@if [ -x bench/run.sh ]; then bench/run.sh $(BENCHFLAGS); \
	 else bash bench/run.sh $(BENCHFLAGS); fi
	bash bench/logbench.sh

fuzz:
	fuzz/run.sh $(FUZZ_SECONDS)

soak: build
	bench/soak.sh $(SOAK_SECONDS)
	GOING_MODEL_STEPS=$(MODEL_STEPS) $(CARGO) test --release --test model -- --nocapture

install: going
	$(INSTALL) -d -m 755 $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	$(INSTALL) -m 755 going $(DESTDIR)$(SBINDIR)/going
	$(INSTALL) -m 644 man/going.8 $(DESTDIR)$(MANDIR)/man8/going.8
	$(INSTALL) -m 644 man/going.5 $(DESTDIR)$(MANDIR)/man5/going.5

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/going \
	    $(DESTDIR)$(MANDIR)/man8/going.8 \
	    $(DESTDIR)$(MANDIR)/man5/going.5

clean:
	$(CARGO) clean
	rm -f going
