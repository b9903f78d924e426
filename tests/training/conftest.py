import pytest

from tests.conftest import write_tone
from wavenet.data.manifest import Utterance, write_manifest
from wavenet.data.prepare import prepare

CONFIG = """
model:
  preset: debug
data:
  dir: {data}
  crop_seconds: 0.01
  batch_size: 2
  valid_crops: 4
optim:
  lr: 0.003
  warmup_steps: 2
  schedule: {schedule}
train:
  steps: 8
  ema_decay: 0.5
  threads: 1
  log_every: 2
  eval_every: 4
  checkpoint_every: 2
  keep_last: 2
  eval_audio_seconds: 0.002
"""


@pytest.fixture(scope="session")
def prepared(tmp_path_factory):
    """A prepared three-speaker corpus of tones."""
    root = tmp_path_factory.mktemp("corpus")
    utterances = []
    for s, name in enumerate(("ann", "ben", "cat")):
        for i in range(4):
            path = write_tone(root / name / f"{i}.wav", seconds=0.3, f0=120 + 60 * s + 10 * i)
            utterances.append(Utterance(path, name, 0.3))
    write_manifest(root / "manifest.tsv", utterances)
    prepare(root / "manifest.tsv", root / "data", workers=1)
    return root / "data"


@pytest.fixture
def config_file(tmp_path, prepared):
    def make(schedule: str = "cosine"):
        path = tmp_path / f"config-{schedule}.yaml"
        path.write_text(CONFIG.format(data=prepared, schedule=schedule))
        return path

    return make
