"""Bad input to yeastzoi_train.py: exit status 2, exactly one `error:` line, OUT left as it was.

Each case runs the script's ``main`` in process through :func:`yeastzoi.cli.call`; nothing is
trained (every check happens before the first step).
"""
import json
import shutil
from pathlib import Path

import pytest

from test_train_resume import _cli_main, _tree, write_micro
from test_trainer import make_track_dir

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_track_dir(tmp_path_factory.mktemp("err_tracks"), n=(6, 2, 2))


def _one_error(capsys, argv, out) -> str:
    from yeastzoi.cli import call
    before = _tree(out)
    assert call(_cli_main(), [str(a) for a in argv]) == 2
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, errors
    assert _tree(out) == before
    return errors[0]


@pytest.mark.parametrize("override, fragment", [
    ("train.batch_size=0", "train.batch_size: must be >= 1, got 0"),
    ("train.steps_per_epoch_max=0", "train.steps_per_epoch_max: must be >= 1, got 0"),
    ("train.train_epochs_max=0", "train.train_epochs_max: must be >= 1, got 0"),
    ("train.learning_rat=5", 'train.learning_rat: unknown key; did you mean "learning_rate"?'),
])
def test_bad_train_values_and_misspelt_keys(data, tmp_path, capsys, override, fragment):
    spec = write_micro(tmp_path / "micro.json")
    out = tmp_path / "out"
    line = _one_error(capsys, [spec, data, "-o", out, "--set", override], out)
    assert fragment in line and str(spec) in line
    assert not out.exists()


def test_unknown_top_level_and_model_keys(data, tmp_path, capsys):
    spec = write_micro(tmp_path / "micro.json")
    raw = json.loads(spec.read_text())
    raw["modle"] = raw.pop("model")
    spec.write_text(json.dumps(raw))
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("untouched")
    assert 'modle: unknown key; did you mean "model"?' in _one_error(capsys, [spec, data, "-o", out], out)
    raw["model"] = raw.pop("modle")
    raw["model"]["seq_lenght"] = 2048
    spec.write_text(json.dumps(raw))
    assert 'model.seq_lenght: unknown key; did you mean "seq_length"?' in _one_error(
        capsys, [spec, data, "-o", out], out)


def test_truncated_and_flipped_record_files_are_named(data, tmp_path, capsys):
    """A truncated train file and a valid file with one flipped byte (which TensorFlow reads
    only after a whole epoch) are both found before training, by name."""
    spec = write_micro(tmp_path / "micro.json")
    out = tmp_path / "out"
    for name, damage in (("train-1.tfr", "truncate"), ("valid-0.tfr", "flip")):
        bad = tmp_path / f"data_{damage}"
        shutil.copytree(data, bad)
        path = bad / "tfrecords" / name
        blob = bytearray(path.read_bytes())
        if damage == "truncate":
            blob = blob[: len(blob) * 2 // 3]
        else:
            blob[len(blob) // 2] ^= 0x04
        path.write_bytes(bytes(blob))
        line = _one_error(capsys, [spec, bad, "-o", out], out)
        assert str(path) in line and "corrupt record file" in line and "rebuild the data directory" in line
        assert not out.exists()
