# fnrun — build, test and demo. Run as root on Debian 12 (cgroups, namespaces, veth).
SHELL := /bin/bash
GO    ?= go
BIN   := $(CURDIR)/bin
export PATH := /usr/local/go/bin:$(PATH)

# Debian packages the tests and the demo use; `make deps` installs the missing ones.
DEB_PKGS := python3-fastapi python3-uvicorn curl jq iproute2 procps psmisc \
	chromium prometheus qemu-system-x86 busybox-static cpio kmod vagrant \
	wrk nginx-light haproxy runc nghttp2-client

.PHONY: all build deps test unit integration fuzz demo bench bench-router vet clean vm-test vagrant-validate

all: build

build:
	CGO_ENABLED=0 $(GO) build -o $(BIN)/fnrun ./cmd/fnrun
	CGO_ENABLED=0 $(GO) build -o $(BIN)/fnrund ./cmd/fnrund

deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else echo "deps: all Debian packages present"; fi

vet:
	$(GO) vet ./...

# Unit tests (the sandbox's run as root against real cgroups), then the end-to-end suite.
test: deps build vet unit fuzz integration vm-test vm-systemd-test vagrant-validate

unit:
	$(GO) test -count=1 ./runtime/... ./sandbox/... ./scheduler/... ./router/... ./cmd/...

fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzParseManifest$$' -fuzztime=10s ./runtime/
	$(GO) test -run='^$$' -fuzz='^FuzzUnpackSafe$$' -fuzztime=10s ./runtime/
	$(GO) test -run='^$$' -fuzz='^FuzzParseHost$$' -fuzztime=10s ./router/

integration: build
	$(GO) build -o $(BIN)/spinserver ./integration/testdata/spinserver
	FNRUN_BIN_DIR=$(BIN) $(GO) test -count=1 -v -timeout 20m ./integration/ 2>&1 | tee $(BIN)/integration.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|\s+\S+_test.go)' ; \
		rc=$${PIPESTATUS[0]}; [ $$rc = 0 ] || tail -150 $(BIN)/integration.log; exit $$rc

# The same end-to-end suite inside a QEMU VM booted on a pure cgroup v2 kernel (integration/vm).
vm-test: build
	$(GO) test -c -o $(BIN)/integration.test ./integration
	$(GO) test -c -o $(BIN)/sandbox.test ./sandbox
	$(GO) build -o $(BIN)/spinserver ./integration/testdata/spinserver
	FNRUN_BIN_DIR=$(BIN) ./integration/vm/run.sh --timeout 2700 -e FNRUN_TEST_TIME_SCALE=8 -- /bin/sh -c \
		'cd sandbox && $(BIN)/sandbox.test -test.v -test.count=1 -test.timeout 20m; s=$$?; cd ../integration && $(BIN)/integration.test -test.v -test.count=1 -test.timeout 20m; i=$$?; [ $$s = 0 ] && [ $$i = 0 ]' 2>&1 \
		| tee $(BIN)/vm-test.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|fnrun-vm:|\s+\S+_test.go)|cgroup mode' ; \
		rc=$${PIPESTATUS[0]}; [ $$rc = 0 ] || tail -150 $(BIN)/vm-test.log; exit $$rc

vagrant-validate:
	vagrant validate --ignore-provider Vagrantfile

# Starts fnrund on its defaults, deploys examples/autoscale-cpu, shows the table, answers and a
# scale-up, then stops everything (KEEP=1 keeps the daemon and the app running).
demo: deps build
	./examples/demo.sh

clean:
	rm -rf $(BIN)

# make bench (not part of make test): regenerates docs/benchmarks.md.
include integration/bench/bench.mk

# make install / uninstall / deb / vm-systemd-test: fnrund as a systemd service (Delegate=yes).
include cmd/fnrund/systemd/install.mk
