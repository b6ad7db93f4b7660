#!/usr/bin/env bash
# Assembles a local stand-in for the official Bun base image and stores it in podman's image store
# under the official name, so that the project's Dockerfile builds unchanged where no registry is
# reachable. Used by scripts/container-check.sh; it can also be run on its own.
#
#   scripts/container/stand-in-base.sh IMAGE_REF BUN_BINARY WORK_DIR
#
#   IMAGE_REF   e.g. docker.io/oven/bun:1.4.4-slim (the Dockerfile's FROM, fully qualified)
#   BUN_BINARY  the bun executable of the project's pinned npm package (node_modules/bun/bin/bun.exe)
#   WORK_DIR    scratch folder (the root filesystem is assembled in WORK_DIR/rootfs)
#
# What the stand-in mirrors from the official Debian-slim image (oven-sh/bun dockerhub/debian-slim):
# /usr/local/bin/bun, /usr/local/bin/bunx -> bun, /usr/local/bun-node-fallback-bin/node -> bun,
# a `bun` user and group (uid/gid 1000, home /home/bun, shell /bin/sh), WORKDIR /home/bun/app
# (owned by root, as WORKDIR creates it), ENV BUN_RUNTIME_TRANSPILER_CACHE_PATH=0 and
# BUN_INSTALL_BIN=/usr/local/bin, the PATH with the node fallback, ENTRYPOINT docker-entrypoint.sh
# (same behaviour: prepend bun when the first argument is not a command, then exec) and CMD bun,
# CA certificates at /etc/ssl/certs/ca-certificates.crt, /tmp with mode 1777, merged /usr.
# Besides bun it carries the few Debian base tools a Dockerfile or a check needs (sh, id, mkdir,
# chown, ...), copied from this host with the shared libraries ldd reports for each of them.
# It carries no apt, compiler or package manager other than bun.
#
# The image gets the label tollgate.stand-in=<hash of the bun binary and this script>; when an image
# with the same name and the same label already exists, nothing is rebuilt (the script is rerunnable
# and the build cache stays valid). An image with that name but without the label is a real one and is
# never touched.
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 IMAGE_REF BUN_BINARY WORK_DIR" >&2
  exit 2
fi
ref=$1
bun_bin=$2
work=$3

[[ -x $bun_bin ]] || { echo "stand-in: $bun_bin is not an executable" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "stand-in: must run as root (files owned by root and by uid 1000)" >&2; exit 1; }

hash=$( { sha256sum "$bun_bin" | cut -d' ' -f1; sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1; } | sha256sum | cut -c1-16)

if podman image exists "$ref"; then
  existing=$(podman image inspect --format '{{index .Labels "tollgate.stand-in"}}' "$ref" 2>/dev/null || true)
  if [[ -z $existing || $existing == "<no value>" ]]; then
    echo "stand-in: $ref already exists and is not a stand-in (a real image): using it as it is"
    exit 0
  fi
  if [[ $existing == "$hash" ]]; then
    echo "stand-in: $ref is up to date (tollgate.stand-in=$hash)"
    exit 0
  fi
  echo "stand-in: replacing the older stand-in $ref ($existing)"
  podman untag "$ref" "$ref" >/dev/null 2>&1 || true
fi

rootfs=$work/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs"
cd "$rootfs"

# Debian 12 layout: merged /usr.
mkdir -p usr/bin usr/sbin usr/lib usr/lib64 usr/local/bin usr/local/sbin usr/local/bun-node-fallback-bin \
  etc/ssl/certs home/bun/app root tmp var/tmp run proc sys dev
ln -s usr/bin bin
ln -s usr/sbin sbin
ln -s usr/lib lib
ln -s usr/lib64 lib64

# Bun from the project's pinned npm package, at the official image's paths.
install -m 0755 "$bun_bin" usr/local/bin/bun
ln -s /usr/local/bin/bun usr/local/bin/bunx
ln -s /usr/local/bin/bun usr/local/bun-node-fallback-bin/node

# Same behaviour as the official docker-entrypoint.sh: run bun when the first argument is an option,
# not a command, or a non-executable file; then exec (the command becomes the main process).
cat > usr/local/bin/docker-entrypoint.sh <<'EOF'
#!/bin/sh
set -e
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- /usr/local/bin/bun "$@"
fi
exec "$@"
EOF
chmod 0755 usr/local/bin/docker-entrypoint.sh

# A few base tools of the Debian image (the official one has all of coreutils).
tools=(dash cat chmod chown cp echo env false id ln ls mkdir mv rm sleep stat touch true uname)
binaries=("$bun_bin")
for t in "${tools[@]}"; do
  src=$(command -v "$t" 2>/dev/null || true)
  if [[ -z $src || $src != /* ]]; then src=/usr/bin/$t; fi
  [[ -x $src ]] || { echo "stand-in: host tool $t not found" >&2; exit 1; }
  install -m 0755 "$(readlink -f "$src")" "usr/bin/$t"
  binaries+=("$src")
done
ln -s dash usr/bin/sh

# The shared libraries they link (glibc and, for coreutils, libselinux/libpcre2), at the paths ldd
# names (through the merged-/usr links), including the ELF interpreter.
declare -A seen=()
for b in "${binaries[@]}"; do
  while read -r lib; do
    [[ -n $lib && -z ${seen[$lib]:-} ]] || continue
    seen[$lib]=1
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done < <(ldd "$b" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' || true)
done

# Users and groups as `groupadd bun --gid 1000 && useradd bun --uid 1000 --gid bun --shell /bin/sh
# --create-home` leaves them on Debian.
cat > etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
bun:x:1000:1000::/home/bun:/bin/sh
EOF
cat > etc/group <<'EOF'
root:x:0:
nogroup:x:65534:
bun:x:1000:
EOF
cat > etc/shadow <<'EOF'
root:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
bun:!:19000:0:99999:7:::
EOF
chmod 0640 etc/shadow
cat > etc/nsswitch.conf <<'EOF'
passwd:         files
group:          files
shadow:         files
hosts:          files dns
networks:       files
EOF
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > etc/hosts
cat > etc/os-release <<EOF
PRETTY_NAME="tollgate stand-in for $ref (not the official image)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
ID=debian
EOF
cp -L /etc/ssl/certs/ca-certificates.crt etc/ssl/certs/ca-certificates.crt

chown -R 0:0 "$rootfs"
chown 1000:1000 home/bun
chmod 0755 home/bun home/bun/app
chmod 0700 root
chmod 1777 tmp var/tmp

podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/bun-node-fallback-bin' \
  --change 'ENV BUN_RUNTIME_TRANSPILER_CACHE_PATH=0' \
  --change 'ENV BUN_INSTALL_BIN=/usr/local/bin' \
  --change 'WORKDIR /home/bun/app' \
  --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
  --change 'CMD ["/usr/local/bin/bun"]' \
  --change "LABEL tollgate.stand-in=$hash" \
  --message "tollgate stand-in for $ref" \
  - "$ref" < <(tar --numeric-owner -C "$rootfs" -cf - .) >/dev/null

rm -rf "$rootfs"
echo "stand-in: imported $ref (tollgate.stand-in=$hash; $(podman image inspect --format '{{.Size}}' "$ref") bytes)"
