#!/usr/bin/env python3
"""benchmarks/workloads/check_same_code.py — the timed loops are the same machine code on capOS and Linux.

Usage: check_same_code.py OBJDUMP SYMBOL CAPOS_ELF LINUX_ELF [SYMBOL CAPOS_ELF LINUX_ELF ...]

For each triple, disassembles the function in both binaries and fails unless
the instruction streams are the same (only the displacement of RIP-relative
constant loads may differ: the constants sit at other addresses, their bytes
come from the one object file), the function calls or jumps nowhere outside
itself (the whole loop is in it), and it starts at the same offset in a page
(timed_kernels.cpp says why both matter under TCG). It also fails when a
binary still holds a second, inlined copy of the hash loop: the hash step's
multiplier constant must appear in the timed function and nowhere else in
its loaded segments (a compiler that unrolls the rounds puts it into the
timed function more than once, which is still one copy of the loop).
"""
import re
import struct
import subprocess
import sys

HASH_MUL = (0xD6E8FEB86659FD93).to_bytes(8, "little")


class Elf:
    def __init__(self, path: str) -> None:
        self.path = path
        self.data = open(path, "rb").read()
        d = self.data
        if d[:4] != b"\x7fELF" or d[4] != 2 or d[5] != 1:
            raise ValueError(f"{path}: not a little-endian ELF64 file")
        (self.phoff, self.shoff) = struct.unpack_from("<QQ", d, 0x20)
        (self.phentsize, self.phnum, self.shentsize, self.shnum) = struct.unpack_from("<HHHH", d, 0x36)
        self.segments = []
        for i in range(self.phnum):
            p_type, _flags, off, vaddr, _paddr, filesz, _memsz, _align = struct.unpack_from(
                "<IIQQQQQQ", d, self.phoff + i * self.phentsize)
            if p_type == 1:  # PT_LOAD
                self.segments.append((vaddr, off, filesz))
        self.sections = [struct.unpack_from("<IIQQQQIIQQ", d, self.shoff + i * self.shentsize)
                         for i in range(self.shnum)]

    def symbols(self):
        d = self.data
        for sh in self.sections:
            if sh[1] != 2:  # SHT_SYMTAB
                continue
            strtab = self.sections[sh[6]]
            for j in range(sh[5] // 24):
                name_off, info, _other, _shndx, value, size = struct.unpack_from("<IBBHQQ", d, sh[4] + j * 24)
                end = d.index(b"\0", strtab[4] + name_off)
                yield d[strtab[4] + name_off:end].decode(), info & 0xF, value, size

    def function(self, name: str) -> tuple[int, bytes]:
        found = [(v, s) for n, t, v, s in self.symbols() if n == name and t == 2]  # STT_FUNC
        if len(found) != 1:
            raise LookupError(f"{self.path}: {len(found)} functions named {name}")
        vaddr, size = found[0]
        for seg_vaddr, off, filesz in self.segments:
            if seg_vaddr <= vaddr and vaddr + size <= seg_vaddr + filesz:
                start = off + vaddr - seg_vaddr
                return vaddr, self.data[start:start + size]
        raise LookupError(f"{self.path}: {name} is not in a loaded segment")

    def text_count(self, needle: bytes, inside: tuple[int, int] | None = None) -> tuple[int, int]:
        """Occurrences of needle in the loaded segments: (inside [vaddr, vaddr + size), elsewhere)."""
        n_in = n_out = 0
        for seg_vaddr, off, filesz in self.segments:
            seg = self.data[off:off + filesz]
            at = seg.find(needle)
            while at >= 0:
                va = seg_vaddr + at
                if inside is not None and inside[0] <= va and va + len(needle) <= inside[0] + inside[1]:
                    n_in += 1
                else:
                    n_out += 1
                at = seg.find(needle, at + 1)
        return n_in, n_out


INSN = re.compile(r"^\s*([0-9a-f]+):\s+(.*)$")


def instructions(objdump: str, path: str, sym: str, start: int) -> tuple[list[str], list[str]]:
    """The function's instructions, position-independent, and the branch targets that leave it."""
    out = subprocess.run([objdump, "-d", "--no-show-raw-insn", f"--disassemble={sym}", path],
                         check=True, capture_output=True, text=True).stdout
    insns, outside = [], []
    for line in out.splitlines():
        m = INSN.match(line)
        if not m:
            continue
        text = m.group(2).split("#")[0].strip()
        text = re.sub(r"-?0x[0-9a-f]+\(%rip\)", "RIP", text)
        target = re.match(r"^(call|j[a-z]+)\s+([0-9a-f]+) <([^>]*)>", text)
        if target:
            if not target.group(3).startswith(sym):
                outside.append(text)
            text = f"{target.group(1)} +{int(target.group(2), 16) - start:#x}"
        insns.append(f"+{int(m.group(1), 16) - start:#x} {text}")
    return insns, outside


def main(argv: list[str]) -> int:
    if len(argv) < 4 or (len(argv) - 1) % 3:
        print(__doc__)
        return 2
    objdump, argv = argv[0], argv[1:]
    bad = 0
    elves: dict[str, Elf] = {}
    for i in range(0, len(argv), 3):
        sym = argv[i]
        pair = [elves.setdefault(p, Elf(p)) for p in argv[i + 1:i + 3]]
        (a_addr, a_code), (b_addr, b_code) = [e.function(sym) for e in pair]
        (a_ins, a_out), (b_ins, b_out) = [instructions(objdump, e.path, sym, addr)
                                          for e, addr in zip(pair, (a_addr, b_addr))]
        same = a_ins == b_ins and len(a_ins) > 0 and len(a_code) == len(b_code)
        same_page_offset = a_addr % 4096 == b_addr % 4096
        print(f"{sym}: {len(a_ins)} instructions, {len(a_code)} bytes at {a_addr:#x} ({pair[0].path}) and "
              f"{len(b_ins)}, {len(b_code)} bytes at {b_addr:#x} ({pair[1].path}): "
              f"{'same code' if same else 'DIFFERENT code'}, page offsets {a_addr % 4096:#x}/{b_addr % 4096:#x}, "
              f"branches leaving it: {len(a_out)}/{len(b_out)}")
        for x in a_out + b_out:
            print(f"  leaves the function: {x}")
        bad += (not same) + (not same_page_offset) + bool(a_out) + bool(b_out)
    for path, e in elves.items():
        timed = [(v, sz) for n, t, v, sz in e.symbols() if t == 2 and n.endswith("block_hash_range_compiledEjjj")]
        if timed:
            inside, elsewhere = e.text_count(HASH_MUL, timed[0])
            print(f"{path}: hash multiplier appears {inside} time(s) in the timed function and {elsewhere} "
                  f"elsewhere in loaded code/data (want at least 1 and 0: no inlined copy)")
            bad += inside < 1 or elsewhere != 0
    print("ok" if not bad else f"FAIL: {bad} check(s) failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
