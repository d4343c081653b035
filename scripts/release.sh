#!/usr/bin/env bash
# Builds the release archives: a static (CGO_ENABLED=0) crmsync for each
# platform, packed with the README and the docs/ pages it links to as
# dist/crmsync_<version>_<os>_<arch>.tar.gz
# (.zip for Windows), and dist/SHA256SUMS. make release runs it.
#
#   VERSION    the version stamped into the binary (default: git describe)
#   PLATFORMS  os/arch pairs (default: linux, darwin and windows on amd64 and arm64)
#   DIST       the output folder (default: dist)
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
PLATFORMS=${PLATFORMS:-"linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64"}
DIST=${DIST:-dist}
REVISION=$(git rev-parse HEAD 2>/dev/null || true)

mkdir -p "$DIST"
DIST=$(cd "$DIST" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
archives=()
for platform in $PLATFORMS; do
  os=${platform%/*} arch=${platform#*/}
  name="crmsync_${VERSION}_${os}_${arch}"
  exe=crmsync
  [ "$os" = windows ] && exe=crmsync.exe
  mkdir -p "$work/$name"
  echo "release: $name"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch $GO build -trimpath \
    -ldflags "-s -w -X main.version=$VERSION -X main.revision=$REVISION" \
    -o "$work/$name/$exe" ./cmd/crmsync
  cp README.md "$work/$name/"
  # the guides and reference the README links to (the Markdown only, not docs_test.go)
  find docs -name '*.md' | while read -r f; do
    mkdir -p "$work/$name/$(dirname "$f")" && cp "$f" "$work/$name/$f"
  done
  if [ "$os" = windows ]; then
    rm -f "$DIST/$name.zip"
    (cd "$work" && zip -qr "$DIST/$name.zip" "$name")
    archives+=("$name.zip")
  else
    tar -C "$work" -czf "$DIST/$name.tar.gz" "$name"
    archives+=("$name.tar.gz")
  fi
done
(cd "$DIST" && sha256sum "${archives[@]}" > SHA256SUMS)
echo "release: $(printf '%s ' "${archives[@]}")and SHA256SUMS in $DIST"
