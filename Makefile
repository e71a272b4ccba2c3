# Confab — the two commands on a fresh Debian machine: `make demo` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
APT_PACKAGES := gcc make libopus-dev libsrtp2-dev libasound2-dev libncursesw5-dev pkg-config \
	tmux sox espeak-ng gstreamer1.0-tools gstreamer1.0-plugins-base \
	gstreamer1.0-plugins-good gstreamer1.0-plugins-bad jq python3 python3-venv python3-dev postgresql-15 \
	libwebrtc-audio-processing-dev
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# libsrtp2 built with its own crypto (scripts/build-libsrtp.sh) when it is there;
# otherwise pkg-config finds the system's.
VENDOR_PC := $(CURDIR)/.build/vendor/srtp/lib/pkgconfig
# PESQ for `confab bench voice`: the `pesq` package and numpy in a venv (Debian's pip refuses system installs).
PESQ_VENV := $(CURDIR)/.build/pesq-venv
# schemathesis, which fuzzes the management API from its OpenAPI document (SchemathesisTests), in a venv too.
SCHEMATHESIS_VENV := $(CURDIR)/.build/schemathesis-venv
SWIFT_ENV = PKG_CONFIG_PATH=$$( [ -f $(VENDOR_PC)/libsrtp2.pc ] && echo $(VENDOR_PC) )

.PHONY: deps build release test bench fuzz demo clean install man-pages check-install check-install-layout

# Installs the system packages that are missing, and only those (idempotent).
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "make deps: all system packages present"; fi
	@$(PESQ_VENV)/bin/python -c 'import numpy, pesq' 2>/dev/null || \
		{ /usr/bin/python3 -m venv $(PESQ_VENV) && $(PESQ_VENV)/bin/pip install -q numpy pesq; } || \
		echo "make deps: could not install pesq (PyPI); confab bench voice will not score"
	@$(SCHEMATHESIS_VENV)/bin/schemathesis --version >/dev/null 2>&1 || \
		{ /usr/bin/python3 -m venv $(SCHEMATHESIS_VENV) && $(SCHEMATHESIS_VENV)/bin/pip install -q schemathesis; } || \
		echo "make deps: could not install schemathesis (PyPI); SchemathesisTests will fail"
	@bash scripts/build-libsrtp.sh || echo "make deps: could not build libsrtp2 with built-in crypto; using the system's (it allocates per packet, see BENCHMARKS.md)"

build: deps
	$(SWIFT_ENV) $(SWIFT) build

release: deps
	$(SWIFT_ENV) $(SWIFT) build -c release

# `make install [PREFIX=/usr/local] [DESTDIR=]`: the release binary with the Swift
# runtime linked in (it needs only the Debian packages README.md lists), the
# themes, man pages, shell completions and the systemd unit (scripts/install.sh).
# The binary is built in a directory of its own (--static-swift-stdlib changes
# how every module links); the man pages come from swift-argument-parser's
# generate-manual plugin run on the development build.
PREFIX ?= /usr/local
INSTALL_CONFIG ?= release
INSTALL_BUILD := $(CURDIR)/.build/install
MAN_PAGES := $(CURDIR)/.build/plugins/GenerateManual/outputs/confab
install: deps man-pages
	CONFAB_STATIC_INSTALL=1 $(SWIFT_ENV) $(SWIFT) build --scratch-path $(INSTALL_BUILD) -c $(INSTALL_CONFIG) \
		--static-swift-stdlib --product confab
	MAN_PAGES=$(MAN_PAGES) bash scripts/install.sh $(INSTALL_BUILD)/$(INSTALL_CONFIG) "$(DESTDIR)" $(PREFIX)

man-pages:
	@set -o pipefail; $(SWIFT_ENV) $(SWIFT) package --allow-writing-to-package-directory \
		generate-manual --configuration debug --multi-page 2>&1 | { grep -v 'unhandled\|CMakeLists' || true; }

# Installs a static debug build into a scratch root and checks it as a user
# would find it (scripts/check-install.sh). A build of its own: minutes.
check-install:
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && \
		$(MAKE) --no-print-directory install INSTALL_CONFIG=debug PREFIX=/usr DESTDIR="$$scratch" && \
		bash scripts/check-install.sh "$$scratch" /usr

# The same script and checks on the test build's binary (linked to the
# toolchain's runtime, so that one check is left out): part of `make test`.
check-install-layout: man-pages
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && \
		RUNTIME_LINKED_IN=no MAN_PAGES=$(MAN_PAGES) bash scripts/install.sh .build/debug "$$scratch" /usr && \
		RUNTIME_LINKED_IN=no LIBRARY_PATH=$(CURDIR)/.build/debug bash scripts/check-install.sh "$$scratch" /usr

# Tests that run audio in real time (threads paced by the clock, child
# processes, GStreamer) or real servers with short keepalive deadlines run one
# at a time after the rest: on two cores, the parallel unit tests would starve
# their threads and make them flaky. So do suites that keep both cores busy
# for seconds (the capture processing's rooms: 11 s of CPU in a debug build),
# which starved the parallel phase's in-process servers on a slower host until
# their test clients counted as silent. The server's lifecycle suite checks a
# 3 s silence deadline against its own pinging client: with the parallel
# phase stalling the process for seconds, the pinging client counted as
# silent too (once in a clean-clone run on an idle host). The module prefix
# keeps the rooms' pure lifecycle suite of the same name in the parallel phase.
REALTIME_TESTS := ConfabServerTests.LifecycleTests|CaptureProcessingTests|ClusterAdminTests|EngineLoopbackTests|CallRingingOfflineTests|CallTerminalTests|CallScreenReaderTests|CallTests|CallProcessTests|HostileInputTests|GStreamerInteropTests|CommandLineTests|EndToEndTests|HeadlessProcessTests|MediaForwardingTests|TerminalTests|MediaThroughServerTests|HeadlessAudioTests|TwoMachineTests|MediaNetworkTests|ServerHardeningTests|AdmissionTests|StoreContractTests|PostgresStoreTests|AdminCommandTests|LossFeedbackThroughServerTests|VoiceQualitySanityTests|ClusterTests|ClusterProcessTests|NodeProcessTests|ClusterRoutingTests|ClusterTrustTests|ClusterCallTests|WebhookTests|MeetingCodeStoreTests|MeetingCodeCommandTests|SchemathesisTests|TownHallTests|LoudestFewThroughServerTests|EchoThroughEnginesTests|EchoThroughServerTests|QuietAudienceKeysTests|DeviceSwitchThroughServerTests|DevicePacingTests|ClusterResumeTests|ClusterKeptChangeTests|ClusterPresenceFailoverTests|DeviceCheckScreenTests|SoundCardPollingTests|DeviceFailoverTests|REDReceivePathTests|ClusterOutageTests|KeptSessionWriteCostTests|REDCapabilityThroughServerTests|ClusterThreeNodesTests

# Real-time suites that run in a process of their own: the echo canceller's
# end-to-end tests measure two engines' threads against each other, and the
# suites before it in one process (servers, sessions) change how those
# threads are scheduled enough to spoil the canceller's delay estimate; the
# two-client speech test through the server once heard a glitch there too
# (correlation 0.88 and 30 ms mouth-to-ear after the loss-feedback and
# loudest-few suites; 0.95 and 11 ms alone, every time). Each runs in a
# process of its own until what the earlier suites leave behind is found.
REALTIME_ALONE := EchoThroughEnginesTests|EchoThroughServerTests|MediaThroughServerTests

# Real-time suites that mostly wait (on PostgreSQL, child processes, leases,
# keepalive deadlines, a terminal) and play no audio: together they keep the
# machine about 80 % idle, so they run one at a time in a second process
# beside the audio suites, which run one at a time in the first. They call the
# test binary directly: SwiftPM lets one `swift test` use .build at a time.
REALTIME_SIDE := ConfabServerTests.LifecycleTests|ClusterAdminTests|CallRingingOfflineTests|CallTests|CallTerminalTests|CallScreenReaderTests|CommandLineTests|EndToEndTests|ServerHardeningTests|AdmissionTests|StoreContractTests|PostgresStoreTests|AdminCommandTests|ClusterTests|ClusterProcessTests|NodeProcessTests|ClusterRoutingTests|ClusterTrustTests|ClusterCallTests|WebhookTests|MeetingCodeStoreTests|MeetingCodeCommandTests|SchemathesisTests|ClusterResumeTests|ClusterKeptChangeTests|ClusterPresenceFailoverTests|ClusterOutageTests|KeptSessionWriteCostTests|ClusterThreeNodesTests

# A suite named in REALTIME_ALONE or REALTIME_SIDE but not in REALTIME_TESTS
# would also run in the parallel phase: refuse such a list before building.
REALTIME_STRAYS = $(filter-out $(subst |, ,$(REALTIME_TESTS)),$(subst |, ,$(REALTIME_ALONE) $(REALTIME_SIDE)))

test: deps
	$(if $(strip $(REALTIME_STRAYS)),$(error add $(REALTIME_STRAYS) to REALTIME_TESTS too))
	$(SWIFT_ENV) $(SWIFT) build --build-tests
	$(SWIFT_ENV) $(SWIFT) test --skip-build --skip '$(REALTIME_TESTS)'
	for suite in $(subst |, ,$(REALTIME_ALONE)); do \
		$(SWIFT_ENV) $(SWIFT) test --skip-build --no-parallel --filter "$$suite" || exit 1; \
	done
	@bin=$$($(SWIFT_ENV) $(SWIFT) build --show-bin-path) && side_log=$$(mktemp) && \
	trap 'kill $$side 2>/dev/null; rm -f "$$side_log"' EXIT && \
	echo "make test: the waiting suites run beside the audio suites; their output follows the audio suites'" && \
	{ "$$bin/ConfabPackageTests.xctest" --no-parallel --filter '$(REALTIME_SIDE)' --testing-library swift-testing \
		> "$$side_log" 2>&1 & side=$$!; } && \
	$(SWIFT_ENV) $(SWIFT) test --skip-build --no-parallel --filter '$(REALTIME_TESTS)' \
		--skip '$(REALTIME_ALONE)|$(REALTIME_SIDE)'; audio=$$?; \
	wait $$side; waiting=$$?; \
	echo "── the waiting suites (run beside the audio suites) ──"; cat "$$side_log"; \
	[ $$audio -eq 0 ] && [ $$waiting -eq 0 ]
	$(MAKE) --no-print-directory check-install-layout

# `make fuzz [FUZZ_TARGET=room] [FUZZ_SECONDS=600]`: libFuzzer (with AddressSanitizer)
# on one fuzz target: wire, screen, connection, client-message, text, room, forwarder, token,
# headless or server-message (Sources/ConfabFuzzing).
# It starts from the seeds in Tests/FuzzCorpus and keeps what it learns in
# .build-fuzz/corpus; an input that crashes or breaks a property is written to
# .build-fuzz/findings. Keep each finding under Tests/FuzzCorpus/TARGET once
# fixed: `make test` replays them all.
FUZZ_TARGET ?= room
FUZZ_SECONDS ?= 600
FUZZ_BUILD := .build-fuzz
fuzz: deps
	CONFAB_FUZZ=1 $(SWIFT_ENV) $(SWIFT) build --scratch-path $(FUZZ_BUILD) --product confab-fuzz
	mkdir -p $(FUZZ_BUILD)/corpus/$(FUZZ_TARGET) $(FUZZ_BUILD)/findings
	CONFAB_FUZZ_TARGET=$(FUZZ_TARGET) $(FUZZ_BUILD)/debug/confab-fuzz -max_total_time=$(FUZZ_SECONDS) \
		-dict=Tests/FuzzCorpus/protocol.dict -max_len=8192 -timeout=10 \
		-artifact_prefix=$(FUZZ_BUILD)/findings/$(FUZZ_TARGET)- \
		$(FUZZ_BUILD)/corpus/$(FUZZ_TARGET) Tests/FuzzCorpus/$(FUZZ_TARGET)

# Benchmarks run on an optimised build; see BENCHMARKS.md for the figures.
bench: release
	.build/release/confab bench media
	.build/release/confab bench signaling
	.build/release/confab bench sfu
	.build/release/confab bench sfu --rooms 1 --publishers 20 --subscribers 2000 --loudest 3
	.build/release/confab bench tui
	.build/release/confab bench voice

# A meeting on this machine: a loopback server, three bots, and you as host
# in the terminal front (q leaves). Options: make demo DEMO_ARGS="--theme light".
demo: build
	.build/debug/confab demo $(DEMO_ARGS)

clean:
	rm -rf .build
