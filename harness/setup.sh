#!/usr/bin/env bash
# capOS host set-up: installs the Debian packages the build needs (backports
# suite for qemu-system-x86, meson and catch2), derived from the mirror this
# machine's own Debian source already uses. Idempotent; prints what it does.
set -euo pipefail

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then echo sudo; else
            echo "capos-setup: need root (or sudo) to install packages" >&2; exit 1
        fi
    fi
}
SUDO=$(need_root)
export DEBIAN_FRONTEND=noninteractive

codename=$( . /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
bp="${codename}-backports"

# Packages: name[:suite]; suite "bp" means backports.
# grub-efi-amd64-bin makes grub-mkrescue's ISO hybrid BIOS+UEFI; ovmf is the
# UEFI firmware the QEMU tests boot it with (/usr/share/OVMF).
PKGS_MAIN=(g++ clang lld llvm clang-format grub-pc-bin grub-efi-amd64-bin grub-common xorriso mtools ninja-build
           capnproto libcapnp-dev python3 python3-matplotlib linux-image-amd64
           busybox-static cpio gzip pkg-config libclang-rt-14-dev ovmf)
PKGS_BP=(qemu-system-x86 meson catch2)

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
bp_ok() {
    # True when the backports version of each is installed.
    local p
    for p in "${PKGS_BP[@]}"; do
        have_pkg "$p" || return 1
    done
    local qv mv
    qv=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || true)
    case "$qv" in 1:1[0-9]*|1:[1-9][0-9]*) ;; *) return 1 ;; esac
    mv=$(dpkg-query -W -f='${Version}' meson 2>/dev/null || true)
    case "$mv" in 1.[1-9]*) ;; *) return 1 ;; esac
    return 0
}

missing=()
for p in "${PKGS_MAIN[@]}"; do have_pkg "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ] && bp_ok; then
    exit 0
fi

echo "capos-setup: installing: ${missing[*]} ${PKGS_BP[*]} (backports: $bp)"

# Enable backports from the mirror already in use (deb822 or one-line format).
if ! grep -rqs -- "$bp" /etc/apt/sources.list /etc/apt/sources.list.d/ ; then
    mirror=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
        mirror=$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^(https?|file|ftp):/) {print $i; exit}}' /etc/apt/sources.list)
    fi
    if [ -z "$mirror" ]; then
        echo "capos-setup: cannot find this machine's Debian mirror in /etc/apt" >&2
        exit 1
    fi
    echo "capos-setup: enabling $bp from $mirror"
    printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$mirror" "$bp" | $SUDO tee /etc/apt/sources.list.d/capos-backports.sources >/dev/null
fi

$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${PKGS_MAIN[@]}"
$SUDO apt-get install -y -q --no-install-recommends -t "$bp" "${PKGS_BP[@]}"
