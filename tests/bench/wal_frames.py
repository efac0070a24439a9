#!/usr/bin/python3
"""Where a SQLite WAL's bytes went, by table: each frame (24-byte header + one
page) is counted against the table or index that owns its page in the
database file after the run (dbstat), or "free" when the page is on the
freelist then (the request bodies: written, then deleted once their job was
done). Usage: wal_frames.py WAL DB SUBMISSIONS — for `KEEP=1 make bench-year`
with a checkpoint interval larger than the run (no frame overwritten)."""
import sqlite3
import struct
import sys
from collections import Counter

wal, db, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
owner = dict(con.execute("SELECT pageno, name FROM dbstat"))
with open(wal, "rb") as f:
    hdr = f.read(32)
    page = struct.unpack(">I", hdr[8:12])[0]
    frames, commits = Counter(), 0
    while True:
        fh = f.read(24)
        if len(fh) < 24:
            break
        pgno, size_after = struct.unpack(">II", fh[:8])
        f.seek(page, 1)
        frames[owner.get(pgno, "free")] += 1
        commits += size_after != 0
total = sum(frames.values())
print(f"{total} frames of {page + 24} bytes in {commits} commits: "
      f"{total * (page + 24) / n:.0f} bytes per submission, {total / commits:.1f} frames a commit")
for name, k in frames.most_common():
    print(f"  {name:28} {k:8} frames {k * (page + 24) / n:8.0f} bytes per submission "
          f"({100 * k / total:.0f} %)")
