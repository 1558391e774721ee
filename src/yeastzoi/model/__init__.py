"""yeastzoi.model (see DESIGN.md for what this stage holds).

Public names are imported lazily (PEP 562) so that importing a light name never pulls in
TensorFlow; ``from yeastzoi.model import X`` works for every name in ``__all__``.
"""
import importlib

_EXPORTS = {
    'MODEL_TYPES': 'params',
    'TRAIN_TYPES': 'params',
    'TASKS': 'params',
    'LOSSES': 'params',
    'OPTIMIZERS': 'params',
    'TRAIN_DEFAULTS': 'params',
    'MODEL_DEFAULTS': 'params',
    'validate_block': 'params',
    'head_keys': 'params',
    'head_blocks': 'params',
    'validate_model': 'params',
    'validate_train': 'params',
    'validate': 'params',
    'load_params': 'params',
    'parse_json_path': 'params',
    'apply_overrides': 'params',
    'BLOCKS': 'blocks',
    'GLOBAL_KEYS': 'blocks',
    'register_block': 'blocks',
    'get_block': 'blocks',
    'block_parameters': 'blocks',
    'snake_case': 'blocks',
    'Activate': 'blocks',
    'apply_activation': 'blocks',
    'BuildContext': 'blocks',
    'regularizer': 'blocks',
    'conv_dna': 'blocks',
    'conv_block': 'blocks',
    'conv_nac': 'blocks',
    'conv_tower': 'blocks',
    'res_tower': 'blocks',
    'dilated_residual': 'blocks',
    'transformer': 'blocks',
    'transformer_tower': 'blocks',
    'unet_conv': 'blocks',
    'final': 'blocks',
    'dense': 'blocks',
    'keras_layer_class': 'blocks',
    'complement_dna_channels': 'layers',
    'reverse_complement': 'layers',
    'Scale': 'layers',
    'central_mask_features': 'layers',
    'relative_position_features': 'layers',
    'relative_shift': 'layers',
    'MultiheadAttention': 'layers',
    'StochasticShift': 'layers',
    'shift_sequence': 'layers',
    'ShiftSequence': 'layers',
    'ReverseComplement': 'layers',
    'UnreverseOutput': 'layers',
    'StochasticReverseComplement': 'layers',
    'SwitchReverse': 'layers',
    'geometric_filters': 'layers',
    'META_NAME': 'seqnn',
    'SeqNN': 'seqnn',
    'load_weights_file': 'seqnn',
    'read_meta': 'seqnn',
    'canonical_layer_names': 'weights',
    'read_h5_weights': 'weights',
    'model_weights': 'weights',
    'write_h5_weights': 'weights',
    'read_h5_attr': 'weights',
    'RestoreReport': 'weights',
    'assign_weights': 'weights',
    'AGREE_KEYS': 'predict',
    'Geometry': 'predict',
    'Window': 'predict',
    'tile_region': 'predict',
    'centred_window': 'predict',
    'resolve_regions': 'predict',
    'Predictor': 'predict',
    'check_agreement': 'predict',
    'check_genome': 'predict',
    'TrackSet': 'predict',
    'select_tracks': 'predict',
    'safe_names': 'predict',
    'preflight': 'predict',
    'encode_windows': 'predict',
    'stream_predictions': 'predict',
    'BigWigWriters': 'predict',
    'PredictResult': 'predict',
    'predict_to_bigwig': 'predict',
    'predict_bed': 'predict',
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
