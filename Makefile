# netstages: `make test` is the whole suite, as CI runs it (.ci/run).
GO ?= go
# Debian packages the end-to-end tests drive as real peers.
DEB_PACKAGES := netcat-openbsd strace curl python3 tcpdump chromium

.PHONY: test deps vet lint unit fuzz bench

test: deps vet lint unit

# Install what the tests need: Go tools come from go.mod's tool directive
# (pinned); Debian packages are installed only when missing.
deps:
	@./.ci/deps.sh $(DEB_PACKAGES)
	$(GO) mod download
	# Build the pinned Go tools now, not inside a test's time limit.
	$(GO) tool -n staticcheck >/dev/null
	$(GO) tool -n mailpit >/dev/null

vet:
	$(GO) vet ./...

lint:
	$(GO) tool staticcheck ./...

# Unit, protocol and end-to-end tests (the e2e tests start their own peers
# on 127.0.0.1 and stop them), with the race detector and goleak.
unit:
	$(GO) test -race -timeout 12m ./...

# A short run of every fuzz target.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg | grep ^Fuzz); do \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 10s $$pkg || exit 1; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
