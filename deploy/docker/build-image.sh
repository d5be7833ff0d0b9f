#!/usr/bin/env bash
# Builds the meshgate runtime image with buildah, daemonless, then runs it once as a smoke test.
# Called by `make image`; CI calls it through deploy/ci-deploy-checks.sh.
#
#   deploy/docker/build-image.sh [VERSION]
#
# Output: image localhost/meshgate:$VERSION in the project-local store .cache/containers, and an
# OCI archive bin/meshgate-image.oci.tar (loadable with `skopeo copy oci-archive:... docker://...`
# or `podman load`).
#
# What buildah needs on this kind of machine (Debian 12 package `buildah` 1.28, root, no daemon,
# no network) — learned by trying:
#   * --storage-driver vfs: overlay needs a kernel/fs setup we do not have in CI sandboxes; vfs
#     copies full layers, which is fine for a ~2 MB scratch image.
#   * --root/--runroot point at a project-local store, so no /etc/containers/storage.conf is
#     needed and parallel sessions on the same machine do not share /var/lib/containers.
#   * a signature policy file must exist even for FROM scratch: COMMIT opens it ("obtaining default
#     signature policy") although nothing is pulled. We pass our own reject-everything policy
#     (deploy/docker/policy.json): FROM scratch pulls nothing, so any accidental pull fails.
#     Images already in the local store (FROM localhost/meshgate:... in Dockerfile.contracts)
#     are used without consulting the policy.
#   * --isolation chroot for bud and run: the default OCI isolation runs crun, which fails here
#     with "cgroups in hybrid mode not supported". chroot isolation needs no cgroups and no user
#     namespaces and no OCI runtime (crun/runc are only "Recommends" of the Debian package, and
#     .ci/run installs without recommends); it is a build-time sandbox, not a security boundary,
#     which is all CI needs.
#   * `buildah run` ignores ENTRYPOINT/CMD: the smoke test names /meshgate explicitly. It does
#     apply USER, so the smoke test runs as 65532 like the real container.
#   * a dynamically linked binary could not even start in a scratch image (no loader, no libc),
#     so `buildah run ... /meshgate version` succeeding also proves the binary is static.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

version=${1:-${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}}
image=localhost/meshgate:${version}
store=${MESHGATE_IMAGE_STORE:-$root/.cache/containers}
ctx=$root/.cache/image-context
out=$root/bin/meshgate-image.oci.tar
cacerts=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

B=(buildah --root "$store/storage" --runroot "$store/run" --storage-driver vfs)

command -v buildah >/dev/null || { echo "build-image: buildah not found (Debian: apt-get install buildah)" >&2; exit 1; }
[ -s "$cacerts" ] || { echo "build-image: CA bundle $cacerts missing (Debian: apt-get install ca-certificates)" >&2; exit 1; }

echo "build-image: static binary, version $version"
rm -rf "$ctx" && mkdir -p "$ctx" "$root/bin"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${version}" -o "$ctx/meshgate" ./cmd/meshgate
cp "$cacerts" "$ctx/ca-certificates.crt"

echo "build-image: buildah bud -> $image"
"${B[@]}" bud --isolation chroot --signature-policy deploy/docker/policy.json \
  --build-arg "VERSION=${version}" -f deploy/docker/Dockerfile -t "$image" "$ctx"

ctr=$("${B[@]}" from --pull-never --signature-policy deploy/docker/policy.json "$image")
cleanup() { "${B[@]}" rm "$ctr" >/dev/null 2>&1 || true; }
trap cleanup EXIT

fail() { echo "build-image: FAIL: $*" >&2; exit 1; }

# 1. The image config: non-root numeric user, the binary as entrypoint.
user=$("${B[@]}" inspect --format '{{.OCIv1.Config.User}}' "$ctr")
[ "$user" = "65532:65532" ] || fail "image user is '$user', want 65532:65532"
entry=$("${B[@]}" inspect --format '{{.OCIv1.Config.Entrypoint}}' "$ctr")
[ "$entry" = '[/meshgate]' ] || fail "entrypoint is $entry, want [/meshgate]"

# 2. The file system holds exactly the binary and the CA bundle: no shell, no passwd, nothing else.
mnt=$("${B[@]}" mount "$ctr")
files=$(cd "$mnt" && find . -type f | sort | tr '\n' ' ')
"${B[@]}" umount "$ctr" >/dev/null
[ "$files" = "./etc/ssl/certs/ca-certificates.crt ./meshgate " ] || fail "unexpected files in image: $files"

# 3. Run it: version (stamped at build time), and no shell to fall back to.
got=$("${B[@]}" run --isolation chroot "$ctr" -- /meshgate version)
echo "build-image: in image: $got"
case "$got" in "meshgate ${version} "*) ;; *) fail "meshgate version printed '$got', want 'meshgate ${version} ...'" ;; esac
if "${B[@]}" run --isolation chroot "$ctr" -- /bin/sh -c true >/dev/null 2>&1; then
  fail "/bin/sh ran inside the image; it must have no shell"
fi

# The ECS container health check runs `/meshgate health`; it must exist in the image and report a
# dead endpoint as unhealthy (exit 1), not as an unknown command (exit 2).
set +e
"${B[@]}" run --isolation chroot "$ctr" -- /meshgate health -timeout 1s -url http://127.0.0.1:1/healthz >/dev/null 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "meshgate health against a closed port exited $rc, want 1"

# 4. Lint the example contracts inside the image: mounted read-only at /contracts as the chart
#    does, and baked into a contracts image (Dockerfile.contracts) as ECS uses it.
[ -d examples/contracts ] || fail "examples/contracts missing"
"${B[@]}" run --isolation chroot -v "$root/examples/contracts:/contracts:ro" "$ctr" -- /meshgate lint /contracts
echo "build-image: meshgate lint /contracts (mounted) passed in image"

cimage=localhost/meshgate-contracts-example:${version}
"${B[@]}" bud --isolation chroot --signature-policy deploy/docker/policy.json --pull-never \
  --build-arg "BASE=${image}" -f deploy/docker/Dockerfile.contracts -t "$cimage" examples/contracts
cctr=$("${B[@]}" from --pull-never --signature-policy deploy/docker/policy.json "$cimage")
trap 'cleanup; "${B[@]}" rm "$cctr" >/dev/null 2>&1 || true' EXIT
"${B[@]}" run --isolation chroot "$cctr" -- /meshgate lint /contracts
echo "build-image: meshgate lint /contracts (baked, $cimage) passed"

rm -f "$out"
"${B[@]}" push --signature-policy deploy/docker/policy.json "$image" "oci-archive:$out:meshgate:${version}" >/dev/null
echo "build-image: OK $image, archive $out ($(du -h "$out" | cut -f1))"
