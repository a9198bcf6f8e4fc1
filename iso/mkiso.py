#!/usr/bin/env python3
"""mkiso.py: lay out the ISO tree (kernel, boot modules, grub.cfg) and run grub-mkrescue
(a hybrid image: BIOS and UEFI GRUB)."""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


# GRUB's BIOS and UEFI platform directories (Debian's grub-pc-bin, grub-efi-amd64-bin).
GRUB_PLATFORMS = ("/usr/lib/grub/i386-pc", "/usr/lib/grub/x86_64-efi")


def module_limit(header: str) -> int:
    """kMaxBootModules from the kernel header's text; ValueError if it is not there."""
    m = re.search(r"kMaxBootModules\s*=\s*(\d+)", header)
    if m is None:
        raise ValueError("kMaxBootModules not found")
    return int(m.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kernel", required=True, type=Path)
    ap.add_argument("--grub-cfg", required=True, type=Path)
    ap.add_argument("--module", action="append", default=[], metavar="PATH[=NAME]",
                    help="boot module: file, with the module string NAME (default: file name)")
    ap.add_argument("--limit-header", type=Path, default=None,
                    help="header that defines kMaxBootModules (microkernel/boot/boot_info.h)")
    ap.add_argument("-o", "--output", required=True, type=Path)
    args = ap.parse_args()
    if args.limit_header is not None:
        limit = module_limit(args.limit_header.read_text())
        if len(args.module) > limit:
            print(f"mkiso: {len(args.module)} boot modules, but the kernel takes at most {limit} "
                  f"(kMaxBootModules in {args.limit_header}); raise it or drop modules", file=sys.stderr)
            return 1

    mkrescue = shutil.which("grub-mkrescue")
    if mkrescue is None:
        print("mkiso: grub-mkrescue not found (apt-get install grub-common grub-pc-bin xorriso mtools)",
              file=sys.stderr)
        return 1
    # grub-mkrescue puts a boot image on the ISO for every GRUB platform
    # installed: both, or the UEFI boots (harness --uefi) would find nothing.
    missing = [d for d in GRUB_PLATFORMS if not Path(d).is_dir()]
    if missing:
        print(f"mkiso: {', '.join(missing)} not found: the ISO must boot from BIOS and UEFI "
              "(apt-get install grub-pc-bin grub-efi-amd64-bin, or run harness/setup.sh)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="capos-iso-") as tmp:
        root = Path(tmp)
        boot = root / "boot"
        (boot / "grub").mkdir(parents=True)
        (boot / "modules").mkdir()
        shutil.copy(args.kernel, boot / "capos.elf")
        lines = []
        for spec in args.module:
            path, _, name = spec.partition("=")
            src = Path(path)
            name = name or src.name
            shutil.copy(src, boot / "modules" / src.name)
            lines.append(f"module2 /boot/modules/{src.name} {name}")
        cfg = args.grub_cfg.read_text().replace("@MODULES@", "\n    ".join(lines))
        (boot / "grub" / "grub.cfg").write_text(cfg)
        out = args.output.resolve()
        res = subprocess.run([mkrescue, "-o", str(out), str(root), "--",
                              "-volid", "CAPOS"], capture_output=True, text=True)
        if res.returncode != 0:
            sys.stderr.write(res.stdout + res.stderr)
            return res.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
