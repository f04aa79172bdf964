# auth0-domain-operator — one entry point for people and CI.
#   make sandbox   run the operator against local simulators (README quick start)
#   make test      everything: unit, simulators, SDK/kubectl conformance, end to end
#   make bench     benchmarks (never part of `make test`)
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
DEPS_DIR := $(CURDIR)/.deps

.PHONY: help deps build test test-rust lint fmt sandbox bench crds

help:
	@grep -E '^#   make' Makefile | sed 's/^#   //'

## Installs what the tests need (idempotent; see .ci/deps.sh).
deps:
	@bash .ci/deps.sh

build:
	$(CARGO) build --workspace --all-targets

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-rust:
	$(CARGO) test --workspace

test: deps lint test-rust
	@echo "make test: all suites passed"

crds:
	$(CARGO) run --quiet -- crd --write
