# cmd/fnrund/systemd/install.mk: install fnrun as a systemd service, build its .deb, and test both
# in a VM with systemd as PID 1. Included by the top-level Makefile (`include
# cmd/fnrund/systemd/install.mk`); also works alone: `make -f cmd/fnrund/systemd/install.mk install`.
#
#   make install      binaries to $(PREFIX)/bin, fnrund.service to $(UNITDIR), the example config to
#                     /etc/fnrun/fnrund.yaml (kept if present), group fnrun, systemctl daemon-reload
#   make uninstall    stops and removes them again (keeps a changed config, the group and /var/lib/fnrun)
#   make deb          bin/fnrun_<version>_<arch>.deb (nfpm), checked with dpkg-deb -c
#   make vm-systemd-test   boots a VM with systemd as PID 1, installs, runs the service checks
#
# DESTDIR=/some/dir stages the files only (no group, no systemctl). NOBUILD=1 installs bin/ as is.
SHELL        := /bin/bash
GO           ?= go
BIN          ?= $(CURDIR)/bin
PREFIX       ?= /usr/local
DESTDIR      ?=
UNITDIR      ?= /etc/systemd/system
CONFDIR      ?= /etc/fnrun
FNRUN_SYSTEMD_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
DEB_VERSION  ?= 0.1.0+git$(shell git -C $(CURDIR) rev-parse --short HEAD 2>/dev/null || echo 0)
DEB_ARCH     ?= $(shell $(GO) env GOARCH)
NOBUILD      ?=

.PHONY: install uninstall deb vm-systemd-test install-bins

install-bins:
ifeq ($(NOBUILD),)
	CGO_ENABLED=0 $(GO) build -o $(BIN)/fnrun ./cmd/fnrun
	CGO_ENABLED=0 $(GO) build -o $(BIN)/fnrund ./cmd/fnrund
else
	@test -x $(BIN)/fnrun && test -x $(BIN)/fnrund || { echo "install: NOBUILD=1 but $(BIN)/fnrun or $(BIN)/fnrund is missing"; exit 1; }
endif

install: install-bins
	install -D -m 0755 $(BIN)/fnrun $(DESTDIR)$(PREFIX)/bin/fnrun
	install -D -m 0755 $(BIN)/fnrund $(DESTDIR)$(PREFIX)/bin/fnrund
	mkdir -p $(BIN) && sed -e 's|/usr/local/bin/|$(PREFIX)/bin/|g' $(FNRUN_SYSTEMD_DIR)/fnrund.service >$(BIN)/.fnrund.service.tmp
	install -D -m 0644 $(BIN)/.fnrund.service.tmp $(DESTDIR)$(UNITDIR)/fnrund.service
	rm -f $(BIN)/.fnrund.service.tmp
	@if [ -e $(DESTDIR)$(CONFDIR)/fnrund.yaml ]; then \
		echo "install: keeping $(DESTDIR)$(CONFDIR)/fnrund.yaml"; \
	else \
		install -D -m 0644 $(FNRUN_SYSTEMD_DIR)/fnrund.yaml.example $(DESTDIR)$(CONFDIR)/fnrund.yaml; \
		echo "install: wrote $(DESTDIR)$(CONFDIR)/fnrund.yaml"; \
	fi
	@if [ -n "$(DESTDIR)" ]; then \
		echo "install: DESTDIR set: not creating the fnrun group, not calling systemctl"; \
	else \
		getent group fnrun >/dev/null || { groupadd --system fnrun && echo "install: created group fnrun"; }; \
		if [ -d /run/systemd/system ]; then \
			systemctl daemon-reload && echo "install: systemd reloaded; start with: systemctl enable --now fnrund"; \
		else \
			echo "install: systemd is not running here (PID 1 is $$(cat /proc/1/comm 2>/dev/null)): skipped systemctl daemon-reload"; \
		fi; \
	fi

uninstall:
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
		systemctl disable --now fnrund.service 2>/dev/null || true; \
	fi
	rm -f $(DESTDIR)$(PREFIX)/bin/fnrun $(DESTDIR)$(PREFIX)/bin/fnrund $(DESTDIR)$(UNITDIR)/fnrund.service
	@if cmp -s $(FNRUN_SYSTEMD_DIR)/fnrund.yaml.example $(DESTDIR)$(CONFDIR)/fnrund.yaml; then \
		rm -f $(DESTDIR)$(CONFDIR)/fnrund.yaml; rmdir $(DESTDIR)$(CONFDIR) 2>/dev/null || true; \
	elif [ -e $(DESTDIR)$(CONFDIR)/fnrund.yaml ]; then \
		echo "uninstall: keeping the changed $(DESTDIR)$(CONFDIR)/fnrund.yaml"; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "uninstall: done (the fnrun group and /var/lib/fnrun are kept)"

deb: install-bins
	$(GO) run ./cmd/fnrund/systemd/mkdeb -fnrun $(BIN)/fnrun -fnrund $(BIN)/fnrund \
		-src $(FNRUN_SYSTEMD_DIR) -version '$(DEB_VERSION)' -arch $(DEB_ARCH) -out $(BIN) >$(BIN)/.deb-path
	@deb=$$(cat $(BIN)/.deb-path); rm -f $(BIN)/.deb-path; echo "deb: $$deb"; \
	list=$$(dpkg-deb -c "$$deb") || exit 1; \
	for f in ./usr/bin/fnrun ./usr/bin/fnrund ./lib/systemd/system/fnrund.service ./etc/fnrun/fnrund.yaml; do \
		grep -q " $$f$$" <<<"$$list" || { echo "deb: $$f missing from dpkg -c $$deb"; exit 1; }; \
		echo "deb: dpkg -c lists $$f"; \
	done

vm-systemd-test: install-bins
	NOBUILD=1 integration/vm/systemd/test.sh
