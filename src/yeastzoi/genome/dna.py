"""DNA encoding.

Integer codes follow baskerville's TFRecord convention: A=0, C=1, G=2, T=3, N (and any
other letter) = 4. One-hot arrays are float32 of shape (length, 4) in A,C,G,T order; N is
an all-zero row. Model inputs may carry extra channels after the 4 DNA channels (a mask
channel and a species one-hot for language-model inputs); see :func:`model_input`.
"""
from __future__ import annotations

import numpy as np

_LUT = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate("ACGT"):
    _LUT[ord(_b)] = _i
    _LUT[ord(_b.lower())] = _i

_COMPLEMENT = np.array([3, 2, 1, 0, 4], dtype=np.uint8)


def seq_to_codes(seq: str) -> np.ndarray:
    """str of length L → uint8 (L,) codes A0 C1 G2 T3 N4 (case-insensitive)."""
    return _LUT[np.frombuffer(seq.encode("ascii", "replace"), dtype=np.uint8)]


def ascii_to_codes(ascii_bytes: np.ndarray) -> np.ndarray:
    """uint8 ASCII bytes (any shape, e.g. ``np.frombuffer(text.encode(), np.uint8)``) →
    uint8 codes A0 C1 G2 T3 N4 (case-insensitive; any other byte is N)."""
    return _LUT[np.asarray(ascii_bytes, dtype=np.uint8)]


def codes_to_seq(codes: np.ndarray) -> str:
    """uint8 codes → upper-case str."""
    return np.frombuffer(b"ACGTN", dtype=np.uint8)[np.asarray(codes)].tobytes().decode()


def codes_to_onehot(codes: np.ndarray, dtype=np.float32) -> np.ndarray:
    """uint8 codes (..., L) → one-hot (..., L, 4); N (4) becomes an all-zero row."""
    eye = np.concatenate([np.eye(4, dtype=dtype), np.zeros((1, 4), dtype=dtype)])
    return eye[np.asarray(codes)]


def seq_to_onehot(seq: str, dtype=np.float32) -> np.ndarray:
    """str of length L → one-hot (L, 4)."""
    return codes_to_onehot(seq_to_codes(seq), dtype)


def onehot_to_codes(onehot: np.ndarray) -> np.ndarray:
    """one-hot (..., L, >=4) → uint8 codes; rows whose 4 DNA channels are all zero → N (4)."""
    dna = np.asarray(onehot)[..., :4]
    codes = dna.argmax(-1).astype(np.uint8)
    codes[dna.max(-1) <= 0] = 4
    return codes


def revcomp_codes(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of codes (..., L)."""
    return _COMPLEMENT[np.asarray(codes)[..., ::-1]]


def revcomp_seq(seq: str) -> str:
    return codes_to_seq(revcomp_codes(seq_to_codes(seq)))


def revcomp_onehot(x: np.ndarray) -> np.ndarray:
    """Reverse complement of a model input (..., L, C): the 4 DNA channels are complemented
    (A↔T, C↔G) and every channel is reversed along length; extra channels (mask, species)
    are only reversed."""
    x = np.asarray(x)[..., ::-1, :]
    return np.concatenate([x[..., :4][..., ::-1], x[..., 4:]], axis=-1)


def model_input(codes: np.ndarray, num_features: int = 4, species_index: int | None = None,
                mask: np.ndarray | None = None, dtype=np.float32) -> np.ndarray:
    """Build a model input (L, num_features) from codes (L,).

    Channels: 0-3 one-hot DNA; when ``num_features > 4``: channel 4 is the LM mask channel
    (1 where a position is masked, else 0) and channels 5.. are a species one-hot
    (``num_features - 5`` species; ``species_index`` selects the hot one).
    """
    onehot = codes_to_onehot(codes, dtype)
    if num_features == 4:
        return onehot
    if num_features < 5:
        raise ValueError(f"num_features must be 4 or >= 5 (4 DNA + mask + species), got {num_features}")
    extra = np.zeros(onehot.shape[:-1] + (num_features - 4,), dtype=dtype)
    if mask is not None:
        extra[..., 0] = mask
        onehot = onehot * (1 - np.asarray(mask, dtype=dtype))[..., None]
    if num_features > 5:
        if species_index is None:
            raise ValueError("species_index is required when the input has species channels")
        if not 0 <= species_index < num_features - 5:
            raise ValueError(f"species_index {species_index} out of range for {num_features - 5} species")
        extra[..., 1 + species_index] = 1
    return np.concatenate([onehot, extra], axis=-1)
