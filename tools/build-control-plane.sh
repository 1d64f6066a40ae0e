#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl, kwok, helm) from Go modules into a cache directory keyed by versions. Idempotent: a binary
# that already reports the wanted version is not rebuilt. Prints one progress line per step.
set -euo pipefail

K8S_VERSION=v1.36.3
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
HELM_VERSION=v3.22.0
here=$(cd "$(dirname "$0")" && pwd)
cache=${BOSUN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bosun}
bin="$cache/bin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"

if [[ ${1:-} == --print-bin-dir ]]; then echo "$bin"; exit 0; fi

export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=mod
command -v go >/dev/null || { echo "bosun: 'go' is not on PATH; install Go 1.26 or later" >&2; exit 3; }
gov=$(go env GOVERSION); gominor=$(echo "$gov" | sed -E 's/^go1\.([0-9]+).*/\1/')
if (( gominor < 26 )); then echo "bosun: Go $gov is too old; Kubernetes 1.36 needs Go 1.26 or later" >&2; exit 3; fi
mkdir -p "$bin"

step=0; total=5
progress() { step=$((step + 1)); echo "[build $step/$total] $*"; }
elapsed() { local s=$SECONDS; printf '%dm%02ds' $((s / 60)) $((s % 60)); }
# Prints a heartbeat while a long step runs, so a cold build never sits silent.
with_heartbeat() {
  local what=$1; shift
  "$@" & local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 20 & wait $! || true
    kill -0 "$pid" 2>/dev/null && echo "         ... still $what ($(elapsed) elapsed)"
  done
  wait "$pid"
}
# Reads the whole output before matching: with pipefail, `| grep -q` or `| head` would make the
# binary die of SIGPIPE and the pipeline fail at random.
has_version() {
  [[ -x "$bin/$1" ]] || return 1
  local out
  out=$("$bin/$1" $2 2>&1) || return 1
  [[ $out == *"$3"* ]]
}
first_line() { local out; out=$("$@" 2>&1); echo "${out%%$'\n'*}"; }
fail_hint() { echo "bosun: building $1 failed. If go reported a checksum-database error, retry with GONOSUMDB=k8s.io,go.etcd.io,sigs.k8s.io" >&2; exit 4; }

progress "etcd $ETCD_VERSION"
if has_version etcd --version "${ETCD_VERSION#v}"; then echo "         cached"; else
  (cd "$here/etcd" && with_heartbeat "building etcd" go build -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3) || fail_hint etcd
fi

progress "kwok $KWOK_VERSION"
if has_version kwok --version "$KWOK_VERSION"; then echo "         cached"; else
  GOBIN="$bin" with_heartbeat "building kwok" go install -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" || fail_hint kwok
fi

progress "helm $HELM_VERSION (to check the chart)"
if has_version helm version "$HELM_VERSION"; then echo "         cached"; else
  GOBIN="$bin" with_heartbeat "building helm" go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" || fail_hint helm
fi

ldflags="-s -w"
minor=$(echo "$K8S_VERSION" | cut -d. -f2)
for kv in "gitVersion=$K8S_VERSION" gitMajor=1 "gitMinor=$minor" gitTreeState=clean gitCommit=0000000000000000000000000000000000000000 "buildDate=1970-01-01T00:00:00Z"; do
  ldflags="$ldflags -X k8s.io/component-base/version.$kv -X k8s.io/client-go/pkg/version.$kv"
done
step_cmds=()
for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  flag=--version; [[ $cmd == kubectl ]] && flag="version --client"
  if ! has_version "$cmd" "$flag" "$K8S_VERSION"; then
    step_cmds+=("$cmd")
  fi
done
progress "Kubernetes $K8S_VERSION: ${step_cmds[*]:-nothing to build}"
if (( ${#step_cmds[@]} )); then
  cd "$here/k8s"
  for cmd in "${step_cmds[@]}"; do
    echo "         compiling $cmd (a cold build of the first one takes many minutes)"
    with_heartbeat "building $cmd" go build -trimpath -ldflags "$ldflags" -o "$bin/$cmd" "k8s.io/kubernetes/cmd/$cmd" || fail_hint "$cmd"
  done
else echo "         cached"; fi

progress "checking versions"
"$bin/kube-apiserver" --version
first_line "$bin/etcd" --version
first_line "$bin/kwok" --version
echo "built in $(elapsed): $bin"
