#!/usr/bin/env python3
"""ELF helpers for scripts/device/pack.sh: dependency closure, stub libraries, symbol check.

    elfpack.py closure LIBDIR SEED...          print the DT_NEEDED closure of SEED sonames
    elfpack.py stubs OUTDIR REAL_LIB... --users ELF...
                                               build stub libraries (same soname) that define
                                               exactly the symbols USERS take from REAL_LIBs
    elfpack.py check LIBDIR ELF...             every DT_NEEDED resolves in LIBDIR or in the
                                               device's assumed base system, and every
                                               undefined strong symbol is defined somewhere

"The device's assumed base system" (DEVICE_SONAMES) is what any Ubuntu-24.04-like machine with
PyTorch has: glibc, the GCC runtime, and the compression libraries that dpkg itself needs.
Those are checked here against this machine's copies (Debian 12: glibc 2.36, GCC 12), which are
older than Ubuntu 24.04's (glibc 2.39, GCC 14), so a symbol found here is found there too.
Uses readelf and nm from binutils.
"""
import os
import re
import subprocess
import sys

# glibc + GCC runtime (every C++ program, PyTorch included) and dpkg's own Pre-Depends on
# Ubuntu 24.04 (zlib1g, liblzma5, libzstd1, libbz2-1.0, libmd0).
DEVICE_SONAMES = {
    "ld-linux-x86-64.so.2", "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0",
    "librt.so.1", "libresolv.so.2", "libstdc++.so.6", "libgcc_s.so.1",
    "libz.so.1", "liblzma.so.5", "libzstd.so.1", "libbz2.so.1.0", "libmd.so.0",
}
HOST_LIBDIRS = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64"]


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def needed(path):
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run("readelf", "-d", "-W", path))


def soname(path):
    m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", run("readelf", "-d", "-W", path))
    return m.group(1) if m else os.path.basename(path)


def dynsyms(path):
    """(defined, undefined_strong, undefined_weak): dicts name -> (type, size)."""
    defined, strong, weak = {}, {}, {}
    for line in run("readelf", "--dyn-syms", "-W", path).splitlines():
        f = line.split()
        if len(f) < 8 or not f[0].endswith(":") or not f[0][:-1].isdigit():
            continue
        size = int(f[2], 0) if f[2].isdigit() else int(f[2], 16)
        typ, bind, ndx, name = f[3], f[4], f[6], f[7].split("@")[0]
        if not name or typ in ("SECTION", "FILE"):
            continue
        if ndx == "UND":
            (weak if bind == "WEAK" else strong)[name] = (typ, size)
        elif bind in ("GLOBAL", "WEAK", "GNU_UNIQUE"):
            defined[name] = (typ, size)
    return defined, strong, weak


def find_lib(name, libdir):
    """The file for soname NAME: in LIBDIR, else on this host if it is a device soname."""
    p = os.path.join(libdir, name)
    if os.path.exists(p):
        return p, "pack"
    if name in DEVICE_SONAMES:
        for d in HOST_LIBDIRS:
            if os.path.exists(os.path.join(d, name)):
                return os.path.join(d, name), "device"
        return None, "device"
    return None, "missing"


def closure(libdir, seeds):
    """Breadth-first DT_NEEDED closure. Returns (pack sonames, device sonames, missing)."""
    todo, seen, pack, device, missing = list(seeds), set(), [], set(), set()
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.add(name)
        path, where = find_lib(name, libdir)
        if where == "pack":
            pack.append(name)
            todo.extend(needed(path))
        elif where == "device":
            device.add(name)
        else:
            missing.add(name)
    return pack, device, missing


def cmd_closure(args):
    libdir, seeds = args[0], args[1:]
    pack, device, missing = closure(libdir, seeds)
    for name in pack:
        print(name)
    if missing:
        sys.exit("elfpack: not in the pack and not on the device: " + " ".join(sorted(missing)))


# Stub functions called while OpenCV merely initialises its codecs: they do nothing. OpenCV
# 4.6 constructs every decoder on the first imread/imdecode, and GdalDecoder's constructor calls
# GDALAllRegister() (modules/imgcodecs/src/grfmt_gdal.cpp); the other GDAL and GDCM functions
# run only for GDAL/DICOM images, and abort with a message.
NOOP_FUNCTIONS = {"GDALAllRegister"}

STUB_C = r"""
#include <stdio.h>
#include <stdlib.h>
__attribute__((visibility("hidden"), noreturn)) void ferlab_stub_called(const char* lib,
                                                                         const char* sym) {
  fprintf(stderr, "FERLab device pack: %s called from %s, which the pack carries only as a "
          "stub (scripts/device/README.md): OpenCV's GDAL/DICOM codecs are unavailable\n",
          sym, lib);
  abort();
}
"""


def cmd_stubs(args):
    users_at = args.index("--users")
    outdir, reals, users = args[0], args[1:users_at], args[users_at + 1:]
    wanted = {}
    for u in users:
        _, strong, weak = dynsyms(u)
        wanted.update(weak)
        wanted.update(strong)
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "stub_called.c"), "w") as f:
        f.write(STUB_C)
    for real in reals:
        if "Version definition" in run("readelf", "-V", "-W", real):
            sys.exit(f"elfpack: {real} versions its symbols; the stub generator does not")
        name = soname(real)
        defined, _, _ = dynsyms(real)
        syms = sorted(set(wanted) & set(defined))
        asm = [f'\t.section .rodata\n.Llib: .asciz "{name}"']
        for i, s in enumerate(syms):
            asm.append(f'.Ls{i}: .asciz "{s}"')
        for i, s in enumerate(syms):
            typ, size = defined[s]
            if typ in ("FUNC", "IFUNC") and s in NOOP_FUNCTIONS:
                asm.append(f'\t.text\n\t.globl "{s}"\n\t.type "{s}", @function\n"{s}":\n\tret')
            elif typ in ("FUNC", "IFUNC"):
                asm.append(f'\t.text\n\t.globl "{s}"\n\t.type "{s}", @function\n"{s}":\n'
                           f'\tleaq .Llib(%rip), %rdi\n\tleaq .Ls{i}(%rip), %rsi\n'
                           f'\tjmp ferlab_stub_called')
            elif typ in ("OBJECT", "NOTYPE"):
                size = max(size, 8)
                asm.append(f'\t.data\n\t.balign 16\n\t.globl "{s}"\n\t.type "{s}", @object\n'
                           f'\t.size "{s}", {size}\n"{s}":\n\t.zero {size}')
            else:
                sys.exit(f"elfpack: {s} in {real} has type {typ}; cannot stub it")
        asm.append('\t.section .note.GNU-stack,"",@progbits\n')
        src = os.path.join(outdir, name + ".S")
        with open(src, "w") as f:
            f.write("\n".join(asm))
        out = os.path.join(outdir, name)
        run("gcc", "-shared", "-fPIC", "-O2", "-Wl,--no-undefined", f"-Wl,-soname,{name}",
            "-o", out, os.path.join(outdir, "stub_called.c"), src)
        noop = sorted(set(syms) & NOOP_FUNCTIONS)
        print(f"{name}: {len(syms)} of {len(defined)} symbols stubbed"
              + (f" ({', '.join(noop)} a no-op)" if noop else ""))


def cmd_check(args):
    libdir, elves = args[0], args[1:]
    problems, defined_all, glibc, glibcxx = [], set(), set(), set()
    pack, device, missing = closure(libdir, [n for e in elves for n in needed(e)])
    for n in sorted(missing):
        problems.append(f"DT_NEEDED {n} resolves neither in the pack nor on the device")
    files = [os.path.join(libdir, n) for n in pack] + \
            [find_lib(n, libdir)[0] for n in device if find_lib(n, libdir)[0]]
    for f in files:
        defined_all |= set(dynsyms(f)[0])
    for e in list(elves) + [os.path.join(libdir, n) for n in pack]:
        _, strong, _ = dynsyms(e)
        for s in sorted(set(strong) - defined_all):
            problems.append(f"{os.path.basename(e)}: undefined symbol {s}")
        vers = run("readelf", "-V", "-W", e)
        glibc |= set(re.findall(r"Name: (GLIBC_[0-9.]+)", vers))
        glibcxx |= set(re.findall(r"Name: (GLIBCXX_[0-9.]+|CXXABI_[0-9.]+)", vers))

    def newest(vs, prefix):
        vs = [v for v in vs if v.startswith(prefix)]
        return max(vs, key=lambda v: [int(x) for x in v[len(prefix):].split(".") if x]) if vs else "-"

    print(f"elfpack check: {len(elves)} objects, {len(pack)} pack libraries, device libraries: "
          + " ".join(sorted(device)))
    print(f"elfpack check: newest versions required: {newest(glibc, 'GLIBC_')}, "
          f"{newest(glibcxx, 'GLIBCXX_')}, {newest(glibcxx, 'CXXABI_')} "
          "(Ubuntu 24.04: GLIBC_2.39, GLIBCXX_3.4.33, CXXABI_1.3.15)")
    for p in problems:
        print("elfpack check: " + p, file=sys.stderr)
    if problems:
        sys.exit(f"elfpack check: {len(problems)} problem(s)")
    print("elfpack check: every DT_NEEDED and every strong undefined symbol resolves")


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("closure", "stubs", "check"):
        sys.exit(__doc__)
    {"closure": cmd_closure, "stubs": cmd_stubs, "check": cmd_check}[sys.argv[1]](sys.argv[2:])
