#!/usr/bin/env python3
"""Which GPU architectures a CUDA library carries kernels for: reads every fatbin in the file (magic 0xBA55ED50)
and counts its entries (one per compiled file and architecture) by kind (ELF cubin, or PTX the driver could compile for newer GPUs) and sm_XY.

  unzip nd4j-cuda-11.6-1.0.0-M2.1-linux-x86_64.jar '*/libnd4jcuda.so'
  python3 scripts/fatbin_archs.py org/nd4j/linalg/jcublas/bindings/linux-x86_64/libnd4jcuda.so
"""
import collections
import mmap
import struct
import sys

MAGIC = struct.pack("<I", 0xBA55ED50)
KINDS = {1: "PTX", 2: "ELF cubin"}


def entries(m):
    pos = 0
    while (i := m.find(MAGIC, pos)) >= 0:
        version, header, size = struct.unpack_from("<HHQ", m, i + 4)
        if version != 1 or header != 16 or i + header + size > len(m):
            pos = i + 4   # these bytes only look like a fatbin
            continue
        e, end = i + header, i + header + size
        while e < end:
            kind, _, entry_header, entry_size = struct.unpack_from("<HHIQ", m, e)
            if entry_header == 0:
                break
            yield KINDS.get(kind, f"kind {kind}"), struct.unpack_from("<I", m, e + 28)[0]
            e += entry_header + entry_size
        pos = end


def main(path):
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        counts = collections.Counter(entries(m))
    if not counts:
        sys.exit(f"error: no fatbin in {path}")
    for (kind, arch), n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        print(f"{kind} sm_{arch}: in {n} fatbins")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
