#!/usr/bin/env bash
# Installs, when missing, the real tools pin's integration tests and release
# checks use, so `make test` and .ci/run need nothing set up by hand:
#
#   registry    Debian's docker-registry (distribution 2.8) via apt-get
#   cosign      stock cosign, go install ...cosign@$COSIGN_VERSION
#   goreleaser  goreleaser, go install ...goreleaser/v2@$GORELEASER_VERSION
#   kms         local-kms (an AWS KMS API emulator), go install ...local-kms@$LOCAL_KMS_VERSION
#   crane       crane, go install ...cmd/crane@$CRANE_VERSION (make bench only)
#   regctl      regctl, go install ...cmd/regctl@$REGCTL_VERSION (make bench only)
#   staticcheck staticcheck, go install honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION (make lint)
#
# Usage: scripts/install-test-deps.sh [registry] [cosign] [goreleaser] [kms] [crane] [regctl] [staticcheck]
# (no arguments: registry and cosign). Go installs go to $(go env GOPATH)/bin
# (or GOBIN); put that on PATH. Installs run in parallel and each is timed.
set -euo pipefail

COSIGN_VERSION="${COSIGN_VERSION:-v2.6.5}"
GORELEASER_VERSION="${GORELEASER_VERSION:-v2.15.1}"
# Keep in step with internal/testenv.LocalKMSVersion.
LOCAL_KMS_VERSION="${LOCAL_KMS_VERSION:-v0.0.0-20260228092603-2a5e92d09ab6}"
CRANE_VERSION="${CRANE_VERSION:-v0.22.1}"
REGCTL_VERSION="${REGCTL_VERSION:-v0.11.7}"
# The first staticcheck release that builds with (and understands) go1.26.
STATICCHECK_VERSION="${STATICCHECK_VERSION:-2026.2.2}"

want=("$@")
if [ ${#want[@]} -eq 0 ]; then
	want=(registry cosign)
fi

gobin="$(go env GOBIN)"
if [ -z "$gobin" ]; then
	gobin="$(go env GOPATH | cut -d: -f1)/bin"
fi
export PATH="$gobin:$PATH"

log() { printf 'install-test-deps: %s\n' "$*" >&2; }

# timed NAME CMD...: runs CMD, then reports how long it took.
timed() {
	local what="$1" start end
	shift
	start=$(date +%s)
	if "$@"; then
		end=$(date +%s)
		log "$what ready ($((end - start))s)"
	else
		log "$what: install FAILED"
		return 1
	fi
}

install_registry() {
	if [ -x /usr/bin/docker-registry ] || command -v docker-registry >/dev/null 2>&1; then
		log "docker-registry present: $(command -v docker-registry || echo /usr/bin/docker-registry)"
		return 0
	fi
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		if ! command -v sudo >/dev/null 2>&1; then
			log "docker-registry missing and not root (no sudo): apt-get install docker-registry"
			return 1
		fi
		sudo=(sudo -n)
	fi
	log "installing docker-registry with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -q </dev/null >/dev/null
	"${sudo[@]}" apt-get install -y -q --no-install-recommends docker-registry </dev/null >/dev/null
	test -x /usr/bin/docker-registry
}

install_cosign() {
	local have
	have="$(command -v cosign || true)"
	if [ -n "$have" ]; then
		log "cosign present: $have ($("$have" version 2>/dev/null | awk '/GitVersion/ {print $2}'))"
		return 0
	fi
	log "installing cosign $COSIGN_VERSION with go install (about 2 minutes)"
	go install "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION" </dev/null
}

install_goreleaser() {
	if [ -x "$gobin/goreleaser" ] &&
		"$gobin/goreleaser" --version 2>/dev/null | grep -q "GitVersion: *${GORELEASER_VERSION}\$"; then
		log "goreleaser $GORELEASER_VERSION present: $gobin/goreleaser"
		return 0
	fi
	log "installing goreleaser $GORELEASER_VERSION with go install (2-3 minutes)"
	go install "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION" </dev/null
}

install_kms() {
	# local-kms has no version flag: the module version go install recorded is the check.
	if [ -x "$gobin/local-kms" ] &&
		go version -m "$gobin/local-kms" 2>/dev/null | grep -q "mod.*github.com/nsmithuk/local-kms.*${LOCAL_KMS_VERSION}"; then
		log "local-kms $LOCAL_KMS_VERSION present: $gobin/local-kms"
		return 0
	fi
	log "installing local-kms $LOCAL_KMS_VERSION with go install (about 30 seconds)"
	go install "github.com/nsmithuk/local-kms@$LOCAL_KMS_VERSION" </dev/null
}

# go_tool NAME MODULE VERSION: go install MODULE@VERSION unless NAME at that
# version is already in $gobin (both tools report it in `version`).
go_tool() {
	local name="$1" module="$2" version="$3"
	if [ -x "$gobin/$name" ] && "$gobin/$name" version 2>/dev/null | grep -q "${version#v}"; then
		log "$name $version present: $gobin/$name"
		return 0
	fi
	log "installing $name $version with go install (seconds)"
	go install "$module@$version" </dev/null
}

install_crane() { go_tool crane github.com/google/go-containerregistry/cmd/crane "$CRANE_VERSION"; }
install_regctl() { go_tool regctl github.com/regclient/regclient/cmd/regctl "$REGCTL_VERSION"; }
# staticcheck reports its version with -version, not a version subcommand.
install_staticcheck() {
	if [ -x "$gobin/staticcheck" ] && "$gobin/staticcheck" -version 2>/dev/null | grep -q "$STATICCHECK_VERSION"; then
		log "staticcheck $STATICCHECK_VERSION present: $gobin/staticcheck"
		return 0
	fi
	log "installing staticcheck $STATICCHECK_VERSION with go install (a minute or two)"
	go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" </dev/null
}

pids=()
names=()
for w in "${want[@]}"; do
	case "$w" in
	registry | cosign | goreleaser | kms | crane | regctl | staticcheck) ;;
	*)
		log "unknown tool $w (want registry, cosign, goreleaser, kms, crane, regctl or staticcheck)"
		exit 2
		;;
	esac
	timed "$w" "install_$w" &
	pids+=($!)
	names+=("$w")
done

failed=()
for i in "${!pids[@]}"; do
	if ! wait "${pids[$i]}"; then
		failed+=("${names[$i]}")
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	log "failed to install: ${failed[*]}"
	exit 1
fi
