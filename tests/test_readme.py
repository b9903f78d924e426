"""The README's synthesis example runs as written, on the bundled text-to-speech model."""

import re
import subprocess
import sys
from pathlib import Path

import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_synthesis_example_runs(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The synthesis API", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    code = code.replace('"checkpoints/', f'"{ROOT}/checkpoints/')
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    seconds = float(done.stdout.split()[0])
    info = sf.info(str(tmp_path / "hello.wav"))
    assert info.samplerate == 16000 and info.frames == round(seconds * 16000) and seconds > 1
