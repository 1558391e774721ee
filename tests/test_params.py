"""Spec loading, validation errors (one line naming the JSON path) and --set overrides."""
import json

import pytest

from yeastzoi import YeastzoiError, zoo_spec
from yeastzoi.model.params import apply_overrides, load_params, parse_json_path, validate


def tiny():
    return json.loads(zoo_spec("tiny").read_text())


def write(tmp_path, spec):
    path = tmp_path / "params.json"
    path.write_text(json.dumps(spec))
    return path


def test_zoo_specs_load_and_fill_defaults():
    p = load_params(zoo_spec("tiny_lm"))
    assert p["train"]["task"] == "self-supervised"
    assert p["train"]["mask_rate"] == 0.15
    assert p["model"]["augment_rc"] is False
    assert p["model"]["trunk"][0]["name"] == "conv_dna"


def test_unknown_block_name(tmp_path):
    spec = tiny()
    spec["model"]["trunk"][2]["name"] = "transformr_tower"
    with pytest.raises(YeastzoiError) as e:
        load_params(write(tmp_path, spec))
    msg = str(e.value)
    assert "\n" not in msg
    assert 'model.trunk[2].name: unknown block "transformr_tower"' in msg
    assert "transformer_tower" in msg  # the registered names are listed


def test_unknown_keras_layer(tmp_path):
    spec = tiny()
    spec["model"]["trunk"][6]["name"] = "Cropping9D"
    with pytest.raises(YeastzoiError, match=r"model\.trunk\[6\]\.name: unknown block \"Cropping9D\""):
        load_params(write(tmp_path, spec))


def test_missing_required_key(tmp_path):
    spec = tiny()
    del spec["model"]["trunk"][0]["filters"]
    with pytest.raises(YeastzoiError, match=r"model\.trunk\[0\]\.filters: missing required key for block \"conv_dna\""):
        load_params(write(tmp_path, spec))
    spec = tiny()
    del spec["model"]["seq_length"]
    with pytest.raises(YeastzoiError, match=r"model\.seq_length: missing required key"):
        load_params(write(tmp_path, spec))


def test_wrong_type_message_matches_issue_example(tmp_path):
    spec = tiny()
    spec["model"]["trunk"][3]["kernel_size"] = "3"
    with pytest.raises(YeastzoiError) as e:
        load_params(write(tmp_path, spec))
    assert str(e.value).endswith('model.trunk[3].kernel_size: expected int, got "3"')
    assert str(e.value).startswith(str(tmp_path / "params.json"))


def test_wrong_type_train_and_globals(tmp_path):
    spec = tiny()
    spec["train"]["learning_rate"] = "fast"
    with pytest.raises(YeastzoiError, match=r'train\.learning_rate: expected float, got "fast"'):
        load_params(write(tmp_path, spec))
    spec = tiny()
    spec["model"]["bn_momentum"] = [0.9]
    with pytest.raises(YeastzoiError, match=r"model\.bn_momentum: expected float, got \[0\.9\]"):
        load_params(write(tmp_path, spec))


def test_unknown_block_parameter(tmp_path):
    spec = tiny()
    spec["model"]["trunk"][1]["kernal_size"] = 5
    with pytest.raises(YeastzoiError, match=r'model\.trunk\[1\]\.kernal_size: unknown parameter for block "res_tower"'):
        load_params(write(tmp_path, spec))


def test_invalid_json_names_line(tmp_path):
    path = tmp_path / "params.json"
    path.write_text('{"model": {\n "seq_length": 16384,\n}}')
    with pytest.raises(YeastzoiError, match=r"params\.json: line 3 column 1: invalid JSON"):
        load_params(path)


def test_parse_json_path():
    assert parse_json_path("model.trunk[2].repeat") == ["model", "trunk", 2, "repeat"]
    assert parse_json_path("train.learning_rate") == ["train", "learning_rate"]


def test_overrides_apply_and_validate(tmp_path):
    spec = tiny()
    out = apply_overrides(spec, ["train.learning_rate=2e-5", "model.trunk[2].repeat=4",
                                 "model.head.units=12", "model.activation=relu"])
    assert out["train"]["learning_rate"] == 2e-5
    assert out["model"]["trunk"][2]["repeat"] == 4
    assert out["model"]["head"]["units"] == 12
    assert out["model"]["activation"] == "relu"
    assert spec["model"]["head"]["units"] == 14  # the original is untouched
    p = load_params(write(tmp_path, spec), overrides=["model.trunk[2].repeat=3"])
    assert p["model"]["trunk"][2]["repeat"] == 3


@pytest.mark.parametrize("override, message", [
    ("model.trunk[12].repeat=4", r"--set model\.trunk\[12\]\.repeat: model\.trunk\[12\] does not exist"),
    ("model.nohead.units=4", r"--set model\.nohead\.units: model\.nohead does not exist"),
    ("train.learning_rate", r"expected PATH=VALUE"),
])
def test_override_bad_path(override, message):
    with pytest.raises(YeastzoiError, match=message):
        apply_overrides(tiny(), [override])


def test_override_wrong_type_is_validated(tmp_path):
    with pytest.raises(YeastzoiError, match=r'model\.trunk\[2\]\.repeat: expected int, got "many"'):
        load_params(write(tmp_path, tiny()), overrides=["model.trunk[2].repeat=many"])


def test_validate_returns_copy_with_train_defaults():
    spec = {"model": tiny()["model"]}
    out = validate(spec)
    assert out["train"]["batch_size"] == 4 and "train" not in spec


@pytest.mark.parametrize("override, message", [
    ("train.learning_rat=5", r'train\.learning_rat: unknown key; did you mean "learning_rate"\?'),
    ("train.batch_sise=2", r'train\.batch_sise: unknown key; did you mean "batch_size"\?'),
    ("model.activaton=relu", r'model\.activaton: unknown key; did you mean "activation"\?'),
    ("model.zzz=1", r"model\.zzz: unknown key; expected one of .*seq_length"),
])
def test_unknown_keys_suggest_the_nearest(tmp_path, override, message):
    with pytest.raises(YeastzoiError, match=message):
        load_params(write(tmp_path, tiny()), overrides=[override])


def test_unknown_top_level_key(tmp_path):
    spec = tiny()
    spec["modle"] = spec.pop("model")
    with pytest.raises(YeastzoiError, match=r'params\.json: modle: unknown key; did you mean "model"\?'):
        load_params(write(tmp_path, spec))


def test_unknown_block_parameter_suggests(tmp_path):
    spec = tiny()
    spec["model"]["trunk"][1]["kernal_size"] = 5
    with pytest.raises(YeastzoiError, match=r'did you mean "kernel_size"\?'):
        load_params(write(tmp_path, spec))


@pytest.mark.parametrize("override, message", [
    ("train.batch_size=0", r"train\.batch_size: must be >= 1, got 0"),
    ("train.steps_per_epoch_max=0", r"train\.steps_per_epoch_max: must be >= 1, got 0"),
    ("train.train_epochs_max=-1", r"train\.train_epochs_max: must be >= 1, got -1"),
    ("train.shuffle_buffer=0", r"train\.shuffle_buffer: must be >= 1"),
    ("train.learning_rate=0", r"train\.learning_rate: must be > 0, got 0"),
    ("train.mask_rate=1.5", r"train\.mask_rate: must be in \[0, 1\)"),
])
def test_train_counts_and_rates_are_range_checked(tmp_path, override, message):
    with pytest.raises(YeastzoiError, match=message):
        load_params(write(tmp_path, tiny()), overrides=[override])
    load_params(write(tmp_path, tiny()), overrides=["train.steps_per_epoch_max=null", "train.patience=0"])


def test_every_zoo_and_reference_spec_loads_unchanged(shared_dir):
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    paths = sorted((root / "json_params").glob("*.json")) + sorted((shared_dir / "reference" / "params").glob("*.json"))
    assert len(paths) >= 10
    for path in paths:
        spec = load_params(path)
        raw = json.loads(path.read_text())
        assert {k: spec["train"][k] for k in raw.get("train", {})} == raw.get("train", {}), path
