"""A clean stderr for the ``bin/`` scripts (:func:`yeastzoi.cli.run` starts it): file
descriptor 2 goes through a small filter process that drops the lines TensorFlow, absl,
oneDNN and libBigWig print from C++ whatever ``TF_CPP_MIN_LOG_LEVEL`` says (:data:`NOISE`)
and passes everything else through unchanged, progress bars included.
``YEASTZOI_STDERR_FILTER=0`` turns it off. :class:`StderrFilter` is pure (bytes in, bytes
out) so tests feed it the noise lines themselves.
"""
from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from pathlib import Path

_HEADER = (rb"(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ "       # absl: I0000 00:00:1796034398.191127    8230 port.cc:153]
           rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] )"   # TF < 2.16: 2024-01-01 12:00:00.1: I x/y.cc:9]
           rb"[\w./-]+:\d+\] ")
#: What TensorFlow, absl, oneDNN and libBigWig print from C/C++ at import or on first use
#: (before Python logging exists, so TF_CPP_MIN_LOG_LEVEL does not silence all of it). Each
#: pattern is one whole line; :class:`StderrFilter` drops exactly these lines.
NOISE = tuple(re.compile(p + rb"\r?\n\Z") for p in (
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    _HEADER + rb"oneDNN custom operations are on\. You may see slightly different numerical results[^\n]*",
    _HEADER + rb"This TensorFlow binary is optimized to use available CPU instructions in performance-critical "
              rb"operations\.",
    rb"To enable (?:the following instructions: [^\n]* in other operations|them in other operations), "
    rb"rebuild TensorFlow with the appropriate compiler flags\.",
    _HEADER + rb"oneDNN supports DT_[A-Z0-9]+ only on platforms with AVX-512\. Falling back to the default "
              rb"Eigen-based implementation if present\.",
    # the `tensorflow` wheel (CUDA build) on a machine without a GPU, and its double registrations
    _HEADER + rb"Could not find cuda drivers on your machine, GPU will not be used\.",
    _HEADER + rb"failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: "
              rb"(?:UNKNOWN ERROR \(303\)|CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected)",
    _HEADER + rb"Unable to register cu(?:DNN|FFT|BLAS) factory: Attempting to register factory for plugin "
              rb"cu(?:DNN|FFT|BLAS) when one has already been registered",
    _HEADER + rb"computation placer already registered\. [^\n]*",
    _HEADER + rb"TF-TRT Warning: Could not find TensorRT",
    # libBigWig / pyBigWig C messages; the Python exception that follows says what went wrong
    rb"\[(?:bw|bb|url|pyBw|pyBb)\w*\] [^\n]*",
))
#: Control byte a script writes to ask the filter for a fresh line (after a progress bar).
FRESH_LINE = b"\x1e"


class StderrFilter:
    """Bytes in, bytes out (no I/O, so tests feed it lines): drops :data:`NOISE` lines, passes
    everything else through. Text after the last newline is held until its line ends, unless
    it holds a carriage return (a progress bar: forwarded at once) or :meth:`flush` is called.
    :data:`FRESH_LINE` in the input becomes a newline when the terminal line shows text."""

    def __init__(self, noise=NOISE):
        self.noise = noise
        self.pending = b""          # received, not yet forwarded: an incomplete line
        self.line = bytearray()     # what the terminal's current line shows
        self.col = 0

    def feed(self, data: bytes) -> bytes:
        out = []
        for i, part in enumerate(data.split(FRESH_LINE)):
            if i:
                out.append(self.flush())
                out.append(self.fresh_line())
            out.append(self._feed(part))
        return b"".join(out)

    def flush(self) -> bytes:
        """Forward what is held (at the end, or when nothing more came for a while)."""
        out, self.pending = self.pending, b""
        self._track(out)
        return out

    def fresh_line(self) -> bytes:
        """What moves the output to the start of an empty line."""
        if any(c > 32 for c in self.line):
            out = b"\n"
        else:
            out = b"\r" if self.col else b""
        self._track(out)
        return out

    def _feed(self, data: bytes) -> bytes:
        self.pending += data
        out = []
        while (end := self.pending.find(b"\n")) >= 0:
            segment, self.pending = self.pending[:end + 1], self.pending[end + 1:]
            for pattern in self.noise:
                m = pattern.search(segment)
                if m:
                    segment = segment[:m.start()]   # a noise line after a progress bar: keep the bar
                    break
            out.append(segment)
        if b"\r" in self.pending:
            out.append(self.pending)
            self.pending = b""
        out = b"".join(out)
        self._track(out)
        return out

    def _track(self, out: bytes) -> None:
        end = out.rfind(b"\n")
        if end >= 0:
            self.line, self.col, out = bytearray(), 0, out[end + 1:]
        for c in out[-4096:]:
            if c == 13:
                self.col = 0
            elif c == 8:
                self.col = max(self.col - 1, 0)
            else:
                if self.col < len(self.line):
                    self.line[self.col] = c
                elif self.col < 4096:
                    self.line.append(c)
                self.col += 1


def filter_stream(read_fd: int, write_fd: int, idle: float = 0.1) -> None:
    """Copy ``read_fd`` to ``write_fd`` through a :class:`StderrFilter` until end of file;
    a held incomplete line is forwarded after ``idle`` seconds without input. The filter
    process of :func:`run` runs this; a closed output is drained and ignored."""
    import select
    filt, broken = StderrFilter(), False

    def write(data):
        nonlocal broken
        while data and not broken:
            try:
                data = data[os.write(write_fd, data):]
            except OSError:
                broken = True
    while True:
        ready, _, _ = select.select([read_fd], [], [], idle if filt.pending else None)
        if not ready:
            write(filt.flush())
            continue
        data = os.read(read_fd, 1 << 16)
        if not data:
            break
        write(filt.feed(data))
    write(filt.flush())


class StderrRedirect:
    """File descriptor 2 of this process (and of the processes it starts) goes through a filter
    process running :func:`filter_stream` to the original stderr. :meth:`stop` flushes, puts
    the original stderr back and waits for the filter to drain. The filter is a process, not a
    thread, so that what a crashing process wrote last (a C++ fatal error) still comes out."""

    def __init__(self):
        sys.stderr.flush()
        self.saved = os.dup(2)
        read_fd, write_fd = os.pipe()
        code = "import sys; sys.path.insert(0, sys.argv[1]); from yeastzoi.stderr_filter import filter_stream; filter_stream(0, 2)"
        try:
            self.proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", code, str(Path(__file__).resolve().parents[1])],
                                         stdin=read_fd, stdout=subprocess.DEVNULL, stderr=self.saved,
                                         start_new_session=True)  # Ctrl-C reaches the script, not the filter
        except OSError:
            for fd in (read_fd, write_fd, self.saved):
                os.close(fd)
            raise
        os.close(read_fd)
        if os.isatty(self.saved) and "COLUMNS" not in os.environ:   # tqdm sizes its bars from it
            with contextlib.suppress(OSError):
                os.environ["COLUMNS"] = str(os.get_terminal_size(self.saved).columns)
        os.dup2(write_fd, 2)
        os.close(write_fd)

    def stop(self, timeout: float = 5) -> None:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        with contextlib.suppress(OSError):
            os.write(2, FRESH_LINE)
        os.dup2(self.saved, 2)
        os.close(self.saved)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout)   # still running: a process this script started holds the pipe


_REDIRECT: StderrRedirect | None = None


def start_stderr_filter() -> StderrRedirect | None:
    """Start :class:`StderrRedirect` unless ``YEASTZOI_STDERR_FILTER=0``, fd 2 is closed, or
    this is not a POSIX system; :func:`run` calls it."""
    global _REDIRECT
    if os.environ.get("YEASTZOI_STDERR_FILTER", "1") == "0" or os.name != "posix" or _REDIRECT:
        return None
    try:
        os.fstat(2)
        _REDIRECT = StderrRedirect()
    except OSError:
        return None
    return _REDIRECT


def stop_stderr_filter() -> None:
    global _REDIRECT
    if _REDIRECT is not None:
        _REDIRECT, redirect = None, _REDIRECT
        redirect.stop()


def filter_running() -> bool:
    """Whether this process's stderr goes through the filter now."""
    return _REDIRECT is not None
