"""FASTA files: reading (plain or gzip), writing, and the samtools ``.fai`` index.

An index is *stale* when it no longer describes its FASTA (the FASTA was re-wrapped,
edited or replaced after ``samtools faidx``): :func:`stale_fai_reason` checks every
record's offset and line geometry against the file (two small reads per record) and says
why; :class:`yeastzoi.genome.Genome` then rebuilds the index with a warning, or, in a
read-only folder, stops with a one-line error naming the ``.fai``.
"""
from __future__ import annotations

import gzip
import io
from collections import OrderedDict
from pathlib import Path

from yeastzoi import YeastzoiError
from yeastzoi.fileio import atomic_path, write_text_atomic

LINE_WIDTH = 60


def open_text(path):
    """Open a text file for reading, gunzipping gzip/BGZF files (recognised by content, not
    by name; UTF-8, bad bytes replaced)."""
    path = Path(path)
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    if gz:
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def _fasta_text(name: str, seq: str, width: int = LINE_WIDTH) -> str:
    lines = [f">{name}"] + [seq[i:i + width] for i in range(0, len(seq), width)]
    return "\n".join(lines) + "\n"


def _fai_text(records: list[tuple[str, int]], width: int = LINE_WIDTH) -> str:
    """fai lines for a FASTA written by :func:`_fasta_text` from (name, length) records."""
    out, offset = [], 0
    for name, length in records:
        offset += len(name) + 2  # ">" + name + "\n"
        out.append(f"{name}\t{length}\t{offset}\t{width}\t{width + 1}\n")
        offset += length + (length + width - 1) // width
    return "".join(out)


def write_fasta(path, records, width: int = LINE_WIDTH) -> Path:
    """Write (name, sequence) records to ``path`` and ``path.fai``, both atomically."""
    path = Path(path)
    records = list(records)
    with atomic_path(path) as tmp:
        with open(tmp, "w") as fh:
            for name, seq in records:
                fh.write(_fasta_text(name, seq, width))
    write_text_atomic(str(path) + ".fai", _fai_text([(n, len(s)) for n, s in records], width))
    return path


def _unequal(fasta_path, lineno, name) -> YeastzoiError:
    return YeastzoiError(f"{fasta_path}:{lineno}: lines of '{name}' have unequal widths, which cannot be "
                         f"indexed; rewrap the FASTA (e.g. `seqkit seq -w 60`) or use import_genome")


def _header_name(fasta_path, lineno, line: bytes) -> str:
    words = line[1:].split()
    if not words:
        raise YeastzoiError(f"{fasta_path}:{lineno}: FASTA header without a name; give every sequence a name")
    return words[0].decode()


def write_fai(fasta_path, fai_path=None) -> Path:
    """Index a plain-text FASTA (samtools ``.fai`` format), atomically.

    Raises :class:`YeastzoiError` with ``path:line`` for a sequence whose lines are not of
    equal width (other than its last line), an empty or duplicate name, or a missing header.
    """
    fasta_path = Path(fasta_path)
    fai_path = Path(fai_path) if fai_path else Path(str(fasta_path) + ".fai")
    entries, names = [], set()
    cur = None  # [name, length, offset, linebases, linewidth, short_line_seen]
    with open(fasta_path, "rb") as fh:
        offset = 0
        for lineno, raw in enumerate(fh, 1):
            size = len(raw)
            line = raw.rstrip(b"\r\n")
            if line.startswith(b">"):
                if cur is not None:
                    entries.append(cur)
                name = _header_name(fasta_path, lineno, line)
                if name in names:
                    raise YeastzoiError(f"{fasta_path}:{lineno}: duplicate sequence name '{name}'; make names unique")
                names.add(name)
                cur = [name, 0, offset + size, 0, 0, False]
            elif line:
                if cur is None:
                    raise YeastzoiError(f"{fasta_path}:{lineno}: sequence before the first '>' header; this is not a FASTA file")
                if cur[5]:
                    raise _unequal(fasta_path, lineno, cur[0])
                if cur[3] == 0:
                    cur[3], cur[4] = len(line), size
                elif len(line) != cur[3] or size != cur[4]:
                    if len(line) > cur[3]:
                        raise _unequal(fasta_path, lineno, cur[0])
                    cur[5] = True
                cur[1] += len(line)
            elif cur is not None and cur[1] > 0:
                cur[5] = True  # blank line: only allowed at the end of a record
            offset += size
    if cur is not None:
        entries.append(cur)
    if not entries:
        raise YeastzoiError(f"{fasta_path}: no sequences found; is this a FASTA file?")
    write_text_atomic(fai_path, "".join(f"{e[0]}\t{e[1]}\t{e[2]}\t{e[3]}\t{e[4]}\n" for e in entries))
    return fai_path


def read_fai(fai) -> "OrderedDict[str, tuple[int, int, int, int]]":
    """A ``.fai`` → name → (length, offset, line bases, line width), file order.

    A malformed line is a :class:`YeastzoiError` naming ``fai:line`` and the fix (delete it
    so it is rebuilt)."""
    entries: OrderedDict = OrderedDict()
    with open(fai) as fh:
        for lineno, line in enumerate(fh, 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 5 or not all(f.isdigit() for f in fields[1:5]):
                raise YeastzoiError(f"{fai}:{lineno}: malformed FASTA index line; delete {fai} so it is rebuilt")
            entries[fields[0]] = tuple(int(f) for f in fields[1:5])
    return entries


def stale_fai_reason(fasta_path, fai_path=None) -> str | None:
    """Why ``fai_path`` does not describe ``fasta_path`` (None when it does).

    Checks, per record: the byte before its offset ends the ``>name`` header line, its
    first line has ``line bases`` bases and ends where ``line width`` says, and its last
    base lies inside the file and is followed by a line end or the end of the file."""
    fasta_path = Path(fasta_path)
    fai_path = Path(fai_path) if fai_path else Path(str(fasta_path) + ".fai")
    try:
        entries = read_fai(fai_path)
    except YeastzoiError:
        return "it has a malformed line"
    if not entries:
        return "the index is empty"
    size = fasta_path.stat().st_size
    with open(fasta_path, "rb") as fh:
        for name, (length, offset, bases, width) in entries.items():
            reason = _record_mismatch(fh, size, name, length, offset, bases, width)
            if reason:
                return reason
    return None


def _record_mismatch(fh, size, name, length, offset, bases, width) -> str | None:
    """Why one fai record does not fit the open FASTA ``fh`` of ``size`` bytes, or None."""
    if offset < 2 or offset > size or (length and (bases < 1 or width <= bases)):
        return f"record '{name}' has an impossible offset or line geometry"
    fh.seek(max(0, offset - 512))
    start = fh.tell()
    before = fh.read(offset - start)
    lines = before.rstrip(b"\r\n").rsplit(b"\n", 1)
    header = lines[-1]
    whole = len(lines) > 1 or start == 0  # the header line lies wholly in ``before``
    if not before.endswith(b"\n") or (whole and (not header.startswith(b">")
                                                 or header[1:].split()[:1] != [name.encode()])):
        return f"record '{name}' does not start right after its '>{name}' header line"
    if length == 0:
        return None
    first = min(length, bases)
    fh.seek(offset)
    line = fh.read(first + width - bases)
    term = line[first:]
    if (len(line) < first or any(c in line[:first] for c in b"\r\n>")
            or term not in (b"\n", b"\r\n", b"") or (term == b"" and offset + first != size)):
        return f"the first line of '{name}' is not {first} bases long as the index says"
    last = offset + ((length - 1) // bases) * width + (length - 1) % bases
    if last >= size:
        return f"'{name}' ends past the end of the file"
    fh.seek(last)
    tail = fh.read(2)
    if tail[:1] in (b"\n", b"\r", b">") or tail[1:2] not in (b"\n", b"\r", b""):
        return f"'{name}' does not end where the index says"
    return None


def iter_fasta(path):
    """Yield (name, sequence) from a FASTA (plain or gzip); name is the header's first word."""
    name, chunks = None, []
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if line.startswith(">"):
                if name is not None:
                    yield name, "".join(chunks)
                words = line[1:].split()
                if not words:
                    raise YeastzoiError(f"{path}:{lineno}: FASTA header without a name; give every sequence a name")
                name, chunks = words[0], []
            elif line.strip():
                if name is None:
                    raise YeastzoiError(f"{path}:{lineno}: sequence before the first '>' header; this is not a FASTA file")
                chunks.append(line.strip())
    if name is not None:
        yield name, "".join(chunks)


def fasta_header_lines(path) -> dict[str, list[int]]:
    """Sequence name → the line numbers of its headers (file order; a name listed twice is
    a duplicate)."""
    out: dict[str, list[int]] = {}
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if line.startswith(">"):
                words = line[1:].split()
                out.setdefault(words[0] if words else "", []).append(lineno)
    return out
