"""The seed talk's four masked-LM architectures in json_params/ land on the talk's parameter
counts with 170 input channels (4 DNA + 1 mask + 165 species) and predict per base at full
length; grids/talk_architectures.json lists exactly these specs for the sweep tool."""
import json
from pathlib import Path

import keras
import pytest

from yeastzoi.model.params import load_params
from yeastzoi.model.seqnn import SeqNN

ROOT = Path(__file__).resolve().parents[1]
NUM_FEATURES = 170
EXPECTED = {
    "lm_dilated_cnn_small.json": 320_708,
    "lm_dilated_cnn_large.json": 3_642_116,
    "lm_transformer_unet_small.json": 13_665_828,
    "lm_transformer_unet_large.json": 71_790_564,
}


def _check_spec(name):
    path = ROOT / "json_params" / name
    params = load_params(path)
    raw = json.loads(path.read_text())
    assert "170 input channels" in raw["description"]
    assert params["model"]["seq_length"] == 16384
    keras.backend.clear_session()
    seqnn = SeqNN(params["model"], num_features=NUM_FEATURES)
    try:
        assert seqnn.num_params == EXPECTED[name]
        assert tuple(seqnn.model.output.shape) == (None, 16384, 4)
    finally:
        del seqnn
        keras.backend.clear_session()


@pytest.mark.parametrize("name", [
    "lm_dilated_cnn_small.json",
    "lm_dilated_cnn_large.json",
    "lm_transformer_unet_small.json",
    # ~72M parameters: building it takes ~14-18 s on 2 shared CPU cores (not marked slow)
    "lm_transformer_unet_large.json",
])
def test_talk_spec_count_and_shape(name):
    _check_spec(name)


def test_unet_small_is_the_published_shorkie_lm(shared_dir):
    ours = json.loads((ROOT / "json_params" / "lm_transformer_unet_small.json").read_text())
    ref = json.loads((shared_dir / "reference" / "params" / "shorkie_lm.json").read_text())
    assert ours["model"] == ref["model"]


def test_talk_grid_lists_the_four_specs():
    grid = json.loads((ROOT / "grids" / "talk_architectures.json").read_text())
    assert grid["description"] and grid["num_features"] == NUM_FEATURES
    names = [v["name"] for v in grid["variants"]]
    assert len(names) == len(set(names)) == 4
    for variant in grid["variants"]:
        spec = Path(variant["spec"])
        assert (ROOT / spec).is_file() and spec.parent == Path("json_params")
        assert variant["set"] == {}
        assert variant["expected_params"] == EXPECTED[spec.name]
    assert sorted(Path(v["spec"]).name for v in grid["variants"]) == sorted(EXPECTED)
