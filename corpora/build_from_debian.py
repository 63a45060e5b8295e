#!/usr/bin/env python3
"""Rebuild the big BTF corpora from Debian kernel packages.

What it makes (the layout of the shared corpora the tests' ``corpus`` marker
reads, see ``tests/conftest.py``)::

    OUT/
      vmlinux-<kver>.btf            the kernel's own .BTF section, as shipped
      modules-<kver>/
        vmlinux.btf                 the same base BTF, beside its modules
        split/<module>.btf          every module's .BTF section, as shipped
                                    (split BTF: IDs continue the base's)
        split/list.txt              the module files, one a line, sorted
        split_list.txt              the same list as "split/<module>.btf" lines
        split.tar.xz                (--tar) the split/ folder as one archive
      vmlinux-<kver>-raw/
        vmlinux-raw.btf             (--raw) pahole -J over the DWARF vmlinux with
                                    libbpf's btf__dedup switched off: every
                                    compilation unit's types still there
      manifest.json                 packages (name, version, size, sha256), type
                                    and byte counts, skipped modules and why, timings

How, step by step:

1. Packages are resolved with ``apt-cache`` and fetched with ``apt-get
   download`` from whatever sources this machine's apt is configured with (no
   mirror is named here; run ``apt-get update`` first, or pass ``--update``).
   By default the newest ``linux-image-<flavour>`` (flavour ``cloud-amd64``,
   the smallest: about 27 MB) is followed to its versioned image package,
   which holds both ``/boot/vmlinuz-<kver>`` and ``/lib/modules/<kver>``.
   ``--kernel-version 6.1.0-57-cloud-amd64`` picks a version, ``--package``
   names packages outright, ``--deb`` uses ``.deb`` files already on disk
   (no network at all).
2. ``dpkg-deb -x`` unpacks each package.
3. vmlinux: the debug package's ``/usr/lib/debug/boot/vmlinux-<kver>`` when
   present, else the ELF vmlinux found inside the compressed ``vmlinuz``
   (bzImage): the image is scanned for gzip, xz, zstd, lzma and bzip2 stream
   starts, and the first one that decompresses to an ELF file is it (what the
   kernel's ``scripts/extract-vmlinux`` does).  lz4-compressed images (Debian
   12's amd64 kernels are) need the ``lz4`` command (Debian package ``lz4``).
4. ``.BTF`` is pulled out of vmlinux and of every ``.ko`` / ``.ko.xz`` /
   ``.ko.zst`` / ``.ko.gz`` with btfdedup's ELF reader
   (``btfdedup.io.elf.find_btf_sections``, pyelftools underneath); the section
   bytes are written unchanged, atomically, with
   ``btfdedup.io.writer.write_output``.  Every blob is then checked by parsing
   it with btfdedup (modules through ``btfdedup.load`` on the ``.ko`` with the
   vmlinux base) and re-serialising it: the bytes must come back identical,
   else the module is reported.  Modules without ``.BTF`` are listed in the
   manifest as skipped.
5. ``--raw`` additionally fetches ``linux-image-<kver>-dbg`` (the DWARF
   vmlinux; about 280 MB for cloud-amd64, 1.7 GB unpacked) and runs
   ``pahole --btf_encode_detached`` on it with dedup disabled.  pahole 1.24 has
   no option for that (it always calls libbpf's ``btf__dedup``), so a
   three-line shared object that defines ``btf__dedup`` as "return 0" is
   compiled with ``cc`` and put in ``LD_PRELOAD``; pahole links libbpf
   dynamically, so its call lands in the shim.  Cutting the raw BTF into
   per-compilation-unit files (``cus/``) is not done here: it needs the CU
   boundaries from DWARF, which pahole does not report.

Needs: apt-get, apt-cache and dpkg-deb (Debian/Ubuntu), the btfdedup package
importable (run with the project's venv), and for ``--raw`` pahole and cc.

Examples::

    python corpora/build_from_debian.py --out /tmp/corpora
    python corpora/build_from_debian.py --out /tmp/c --kernel-version 6.1.0-57-cloud-amd64 --tar
    python corpora/build_from_debian.py --out /tmp/c --deb ./linux-image-6.1.0-57-cloud-amd64_*.deb
    python corpora/build_from_debian.py --out /tmp/c --raw      # + ~280 MB dbg package
"""

from __future__ import annotations

import argparse
import bz2
import hashlib
import json
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

try:
    from btfdedup import load
    from btfdedup.errors import BtfError
    from btfdedup.io.compressed import maybe_decompress
    from btfdedup.io.elf import find_btf_sections
    from btfdedup.io.raw import parse_raw
    from btfdedup.io.writer import write_output
    from btfdedup.model.btf import Btf
except ImportError as e:  # pragma: no cover - depends on how the script is run
    sys.exit(f"build_from_debian: cannot import btfdedup ({e}); run it with the project's venv python")

DEFAULT_FLAVOUR = "cloud-amd64"
MODULE_SUFFIXES = (".ko", ".ko.xz", ".ko.zst", ".ko.gz")

#: The LD_PRELOAD shim that turns pahole's btf__dedup call into a no-op.
NODEDUP_SHIM_C = """\
struct btf;
struct btf_dedup_opts;
int btf__dedup(struct btf *btf, const struct btf_dedup_opts *opts) { (void)btf; (void)opts; return 0; }
"""


class BuildError(Exception):
    """A step of the build failed in a way the user must fix (missing tool, package, file)."""


def log(msg: str) -> None:
    print(f"build_from_debian: {msg}", file=sys.stderr, flush=True)


def run(cmd: Sequence[str], *, cwd: str | Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run ``cmd``; return its stdout; raise :class:`BuildError` with its stderr on failure."""
    if shutil.which(cmd[0]) is None:
        raise BuildError(f"{cmd[0]} not found on PATH")
    proc = subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return proc.stdout


# ----------------------------------------------------------------------------- packages


def resolve_image_package(flavour: str) -> str:
    """The versioned image package the ``linux-image-<flavour>`` meta package depends on."""
    meta = f"linux-image-{flavour}"
    out = run(["apt-cache", "depends", meta])
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Depends:") and "linux-image-" in line:
            return line.split(":", 1)[1].strip().strip("<>")
    raise BuildError(f"{meta} has no linux-image dependency (is apt's package list current? try --update)")


def package_names(args: argparse.Namespace) -> tuple[list[str], str | None]:
    """Packages to download and the kernel version they are for (None until unpacked)."""
    if args.package:
        return list(args.package), args.kernel_version
    kver = args.kernel_version
    if kver is None:
        image = resolve_image_package(args.flavour)
        kver = image.removeprefix("linux-image-")
    else:
        image = f"linux-image-{kver}"
    if args.unsigned:
        image = f"linux-image-{kver}-unsigned"
    pkgs = [image]
    if args.raw:
        pkgs.append(f"linux-image-{kver}-dbg")
    return pkgs, kver


def download(packages: Sequence[str], dest: Path) -> list[Path]:
    """``apt-get download`` each package into ``dest`` (apt's configured sources)."""
    debs = []
    for pkg in packages:
        before = set(dest.glob("*.deb"))
        log(f"downloading {pkg} (apt-get download)")
        run(["apt-get", "download", pkg], cwd=dest)
        new = sorted(set(dest.glob("*.deb")) - before)
        if not new:
            raise BuildError(f"apt-get download {pkg} produced no .deb")
        debs.extend(new)
    return debs


def deb_info(deb: Path) -> dict[str, object]:
    """Name, version, size and sha256 of a .deb, for the manifest."""
    fields = run(["dpkg-deb", "--show", "--showformat=${Package}\\t${Version}", str(deb)]).split("\t")
    h = hashlib.sha256()
    with open(deb, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return {"package": fields[0], "version": fields[1].strip(), "file": deb.name, "size": deb.stat().st_size,
            "sha256": h.hexdigest()}


def unpack(debs: Sequence[Path], root: Path) -> None:
    for deb in debs:
        log(f"unpacking {deb.name}")
        run(["dpkg-deb", "-x", str(deb), str(root)])


# ----------------------------------------------------------------------------- vmlinux


def _decompressors() -> list[tuple[bytes, str, Callable[[bytes], bytes]]]:
    def gz(b: bytes) -> bytes:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        return d.decompress(b)

    def xz(b: bytes) -> bytes:
        return lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(b)

    def lzma_alone(b: bytes) -> bytes:
        return lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(b)

    def zst(b: bytes) -> bytes:
        import zstandard

        # decompressobj stops at the end of the frame; the image goes on after it.
        return zstandard.ZstdDecompressor().decompressobj().decompress(b)

    def bzip(b: bytes) -> bytes:
        return bz2.BZ2Decompressor().decompress(b)

    out: list[tuple[bytes, str, Callable[[bytes], bytes]]] = [
        (b"\x1f\x8b\x08", "gzip", gz),
        (b"\xfd7zXZ\x00", "xz", xz),
        (b"\x28\xb5\x2f\xfd", "zstd", zst),
        (b"\x5d\x00\x00\x00", "lzma", lzma_alone),
        (b"BZh", "bzip2", bzip),
    ]
    if shutil.which("lz4"):
        # The kernel writes the lz4 *legacy* format (magic 02 21 4c 18), which the
        # lz4 command line tool reads; the bytes after the stream make it exit
        # non-zero, so only its output counts.
        def lz4_legacy(b: bytes) -> bytes:
            return subprocess.run(["lz4", "-dc"], input=b, capture_output=True).stdout

        out.append((b"\x02\x21\x4c\x18", "lz4", lz4_legacy))
    return out


def _occurrences(data: bytes, magic: bytes) -> Iterator[int]:
    pos = data.find(magic)
    while pos >= 0:
        yield pos
        pos = data.find(magic, pos + 1)


def vmlinux_from_vmlinuz(image: bytes) -> tuple[bytes, str]:
    """The ELF vmlinux inside a compressed kernel image, and the compression used.

    Tries every stream start of every known compressor, in file order, and
    returns the first that decompresses to an ELF file.
    """
    if image[:4] == b"\x7fELF":
        return image, "none"
    candidates = sorted((pos, name, fn) for magic, name, fn in _decompressors() for pos in _occurrences(image, magic))
    for pos, name, fn in candidates:
        try:
            out = fn(image[pos:])
        except Exception:  # noqa: BLE001 - a false magic match; try the next one
            continue
        if out[:4] == b"\x7fELF":
            return out, name
    raise BuildError("no ELF vmlinux found inside the kernel image (unknown compression?)")


def find_vmlinux(root: Path, kver: str | None) -> tuple[Path, bytes, str]:
    """Locate vmlinux in the unpacked tree: debug vmlinux if present, else from vmlinuz."""
    dbg = sorted(root.glob(f"usr/lib/debug/boot/vmlinux-{kver or '*'}"))
    if dbg:
        return dbg[0], dbg[0].read_bytes(), "debug package"
    images = sorted(root.glob(f"boot/vmlinuz-{kver or '*'}"))
    if not images:
        raise BuildError("neither boot/vmlinuz-* nor usr/lib/debug/boot/vmlinux-* in the packages")
    elf, how = vmlinux_from_vmlinuz(images[0].read_bytes())
    return images[0], elf, f"extracted from {images[0].name} ({how})"


def kernel_version_of(root: Path) -> str:
    for pattern in ("lib/modules/*", "boot/vmlinuz-*", "usr/lib/debug/boot/vmlinux-*"):
        hits = sorted(root.glob(pattern))
        if hits:
            name = hits[0].name
            return name.split("-", 1)[1] if name.startswith(("vmlinuz-", "vmlinux-")) else name
    raise BuildError("cannot tell the kernel version from the packages' contents")


# ----------------------------------------------------------------------------- BTF extraction


def btf_section(elf: bytes, source: str) -> bytes | None:
    """The ``.BTF`` section bytes of an ELF image, or None when it has none."""
    secs = find_btf_sections(elf, source)
    return secs.btf.data if secs.btf is not None else None


def module_name(path: Path) -> str:
    name = path.name
    for suffix in MODULE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def iter_modules(root: Path, kver: str) -> Iterator[Path]:
    base = root / "lib" / "modules" / kver
    for dirpath, _dirs, files in os.walk(base):
        for f in sorted(files):
            if f.endswith(MODULE_SUFFIXES):
                yield Path(dirpath) / f


@dataclass
class ModuleResult:
    written: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)
    types: int = 0
    bytes: int = 0


def extract_modules(root: Path, kver: str, base: Btf, split_dir: Path) -> ModuleResult:
    """Write every module's ``.BTF`` to ``split_dir`` and check it against ``base``."""
    res = ModuleResult()
    split_dir.mkdir(parents=True, exist_ok=True)
    for ko in iter_modules(root, kver):
        rel = str(ko.relative_to(root))
        name = module_name(ko)
        try:
            elf = maybe_decompress(ko.read_bytes(), str(ko))
            raw = btf_section(elf, str(ko))
            if raw is None:
                res.skipped[rel] = "no .BTF section"
                continue
            # Check through the full loader (ELF, decompression, split on base) ...
            btf = load(str(ko), base=base)
            # ... and that what we store is exactly the shipped section.
            if btf.to_bytes() != raw or parse_raw(raw, base=base).to_bytes() != raw:
                res.skipped[rel] = "re-serialised BTF differs from the shipped section"
                continue
        except BtfError as e:
            res.skipped[rel] = f"{type(e).__name__}: {e}"
            continue
        out_name = name
        n = 1
        while (split_dir / f"{out_name}.btf").exists():
            n += 1
            out_name = f"{name}~{n}"
        if out_name != name:
            res.renamed[rel] = out_name
        write_output(str(split_dir / f"{out_name}.btf"), raw)
        res.written.append(f"{out_name}.btf")
        res.types += btf.nr_types
        res.bytes += len(raw)
    res.written.sort()
    return res


# ----------------------------------------------------------------------------- raw (non-deduplicated) vmlinux


def build_nodedup_shim(workdir: Path) -> Path:
    """Compile the LD_PRELOAD shim that makes libbpf's btf__dedup a no-op."""
    src = workdir / "nodedup.c"
    so = workdir / "nodedup.so"
    src.write_text(NODEDUP_SHIM_C)
    cc = os.environ.get("CC", "cc")
    run([cc, "-shared", "-fPIC", "-O2", "-o", str(so), str(src)])
    return so


def pahole_raw_btf(vmlinux: Path, out: Path, workdir: Path) -> None:
    """``pahole --btf_encode_detached`` over a DWARF ELF with dedup switched off."""
    shim = build_nodedup_shim(workdir)
    env = dict(os.environ)
    env["LD_PRELOAD"] = f"{shim}:{env['LD_PRELOAD']}" if env.get("LD_PRELOAD") else str(shim)
    tmp = workdir / "raw.btf"
    run(["pahole", f"--btf_encode_detached={tmp}", str(vmlinux)], env=env)
    write_output(str(out), tmp.read_bytes())


# ----------------------------------------------------------------------------- main


def build(args: argparse.Namespace) -> dict[str, object]:
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.monotonic()
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="btfcorp-", dir=args.workdir) as tmp:
        work = Path(tmp)
        deb_dir = Path(args.keep_debs).resolve() if args.keep_debs else work / "debs"
        deb_dir.mkdir(parents=True, exist_ok=True)
        if args.update:
            log("apt-get update")
            run(["apt-get", "update"])
        t = time.monotonic()
        if args.deb:
            debs = [Path(d).resolve() for d in args.deb]
            kver_hint = args.kernel_version
        else:
            pkgs, kver_hint = package_names(args)
            debs = download(pkgs, deb_dir)
        timings["download_s"] = round(time.monotonic() - t, 2)
        packages = [deb_info(d) for d in debs]
        root = work / "root"
        t = time.monotonic()
        unpack(debs, root)
        timings["unpack_s"] = round(time.monotonic() - t, 2)
        kver = kver_hint or kernel_version_of(root)

        t = time.monotonic()
        vml_path, vml_elf, how = find_vmlinux(root, kver)
        base_raw = btf_section(vml_elf, str(vml_path))
        if base_raw is None:
            raise BuildError(f"{vml_path} has no .BTF section (kernel built without CONFIG_DEBUG_INFO_BTF?)")
        base = parse_raw(base_raw, source=f"vmlinux-{kver}.btf")
        if base.to_bytes() != base_raw:
            raise BuildError("vmlinux .BTF does not re-serialise byte for byte")
        vml_out = out / f"vmlinux-{kver}.btf"
        write_output(str(vml_out), base_raw)
        mod_dir = out / f"modules-{kver}"
        mod_dir.mkdir(exist_ok=True)
        write_output(str(mod_dir / "vmlinux.btf"), base_raw)
        timings["vmlinux_s"] = round(time.monotonic() - t, 2)
        log(f"vmlinux {kver}: {base.nr_types} types, {len(base_raw)} bytes ({how})")

        t = time.monotonic()
        mods = extract_modules(root, kver, base, mod_dir / "split")
        (mod_dir / "split" / "list.txt").write_text("".join(f"{m}\n" for m in mods.written))
        (mod_dir / "split_list.txt").write_text("".join(f"split/{m}\n" for m in mods.written))
        if args.tar:
            with tarfile.open(mod_dir / "split.tar.xz", "w:xz", preset=9) as tf:
                tf.add(mod_dir / "split", arcname="split")
        timings["modules_s"] = round(time.monotonic() - t, 2)
        log(f"modules: {len(mods.written)} written ({mods.types} types), {len(mods.skipped)} skipped")

        raw_info: dict[str, object] | None = None
        if args.raw:
            t = time.monotonic()
            dbg = sorted(root.glob(f"usr/lib/debug/boot/vmlinux-{kver}"))
            if not dbg:
                raise BuildError(f"--raw needs linux-image-{kver}-dbg (usr/lib/debug/boot/vmlinux-{kver})")
            raw_dir = out / f"vmlinux-{kver}-raw"
            raw_dir.mkdir(exist_ok=True)
            pahole_raw_btf(dbg[0], raw_dir / "vmlinux-raw.btf", work)
            raw_btf = load(str(raw_dir / "vmlinux-raw.btf"))
            raw_info = {"file": str((raw_dir / "vmlinux-raw.btf").relative_to(out)), "types": raw_btf.nr_types,
                        "bytes": (raw_dir / "vmlinux-raw.btf").stat().st_size}
            timings["raw_s"] = round(time.monotonic() - t, 2)
            log(f"raw vmlinux: {raw_btf.nr_types} types")

    timings["total_s"] = round(time.monotonic() - t_start, 2)
    manifest: dict[str, object] = {
        "kernel_version": kver,
        "packages": packages,
        "vmlinux": {"file": vml_out.name, "types": base.nr_types, "bytes": len(base_raw), "from": how},
        "modules": {
            "dir": f"{mod_dir.name}/split",
            "count": len(mods.written),
            "types": mods.types,
            "bytes": mods.bytes,
            "skipped": mods.skipped,
            "renamed": mods.renamed,
        },
        "raw": raw_info,
        "timings": timings,
    }
    write_output(str(out / "manifest.json"), (json.dumps(manifest, indent=2) + "\n").encode())
    return manifest


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="build_from_debian.py",
        description="Rebuild BTF corpora (vmlinux base, module split BTF, optionally a raw "
        "non-deduplicated vmlinux) from Debian kernel packages.",
        epilog="See the module docstring for the output layout and each step.",
    )
    p.add_argument("--out", required=True, help="output directory (created; files in it are replaced)")
    p.add_argument("--kernel-version", metavar="KVER",
                   help="kernel release, e.g. 6.1.0-57-cloud-amd64 (default: newest of --flavour)")
    p.add_argument("--flavour", default=DEFAULT_FLAVOUR,
                   help=f"kernel flavour whose newest version to use (default {DEFAULT_FLAVOUR})")
    p.add_argument("--unsigned", action="store_true", help="use linux-image-KVER-unsigned instead of the signed image")
    p.add_argument("--package", action="append", metavar="NAME",
                   help="download exactly these packages instead (repeatable)")
    p.add_argument("--deb", action="append", metavar="FILE", help="use these .deb files; no download (repeatable)")
    p.add_argument("--raw", action="store_true",
                   help="also build a non-deduplicated vmlinux BTF with pahole (downloads the ~280 MB -dbg package)")
    p.add_argument("--tar", action="store_true", help="also write modules-KVER/split.tar.xz")
    p.add_argument("--update", action="store_true", help="run apt-get update first")
    p.add_argument("--keep-debs", metavar="DIR", help="download .deb files into DIR and keep them")
    p.add_argument("--workdir", metavar="DIR", help="where to unpack (default: the system temp dir)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        manifest = build(args)
    except (BuildError, BtfError) as e:
        print(f"build_from_debian: error: {e}", file=sys.stderr)
        return 1
    print(json.dumps({k: manifest[k] for k in ("kernel_version", "vmlinux", "timings")}))
    mods = manifest["modules"]
    assert isinstance(mods, dict)
    print(json.dumps({"modules": mods["count"], "module_types": mods["types"], "skipped": len(mods["skipped"])}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
