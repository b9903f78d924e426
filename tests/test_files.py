import hashlib
import signal
import subprocess
import sys
import time

from wavenet.files import atomic_write_bytes

WRITER = """
import sys
from wavenet.files import atomic_write_bytes
i = 0
while True:
    atomic_write_bytes(sys.argv[1], bytes([i % 256]) * 4_000_000)
    i += 1
"""


def test_a_file_is_always_complete_even_when_the_writer_is_killed(tmp_path):
    target = tmp_path / "data.bin"
    atomic_write_bytes(target, b"\x07" * 4_000_000)
    for delay in (0.3, 0.45, 0.6, 0.8):
        process = subprocess.Popen([sys.executable, "-c", WRITER, str(target)])
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        data = target.read_bytes()
        assert len(data) == 4_000_000 and len(set(data)) == 1, hashlib.sha1(data).hexdigest()
    # A killed write leaves at most its temporary file behind, never a partial target.
    assert all(p.name.startswith(".data.bin.") for p in tmp_path.iterdir() if p != target)


def test_written_files_get_a_normal_files_mode(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "x", b"data")
    finally:
        os.umask(old)
    assert (tmp_path / "x").stat().st_mode & 0o777 == 0o644
