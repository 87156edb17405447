"""CREMA-D as used in audio-visual balancing papers (OGM-GE and its successors).

Layout under the given directory::

    train.csv, test.csv      no header; rows "clip_name,LABEL", LABEL in NEU HAP SAD FEA DIS ANG
    audio/{clip}.npy         precomputed log-magnitude spectrogram, (257, 188) freq x time
                             ({clip}.pkl holding the same array is also read, safely)
    visual/{clip}.npy        precomputed frame features, (F, D) or (D,)

Instead of ``audio/``, a folder of ``{clip}.wav`` files (e.g. ``AudioWAV/``) may be given: the
spectrogram is then computed as the reference does (22050 Hz, tiled to 3 s, clipped to [-1, 1],
STFT with n_fft 512 and hop 353, Hann window, centred, ``log(|S| + 1e-7)`` -> (257, 188)).

The reference ships no validation split (it selects models on test); a stratified validation
split is carved from train with a recorded seed instead.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from infofusion.data.dataset import MultimodalDataset
from infofusion.data.formats import _common as c
from infofusion.data.safe_pickle import safe_load
from infofusion.errors import ConfigError, FormatError
from infofusion.registry import register

LABELS = ("NEU", "HAP", "SAD", "FEA", "DIS", "ANG")
_AUDIO_DIRS = ("audio", "spectrograms", "spectrogram", "AudioWAV", "wav")
_VISUAL_DIRS = ("visual", "frames", "frame_features")

SAMPLE_RATE = 22050
N_FFT = 512
HOP = 353


def read_split_csv(path: Path) -> tuple[list[str], list[int]]:
    """(clip names, label codes) from a headerless ``clip,LABEL`` csv."""
    clips, labels = [], []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FormatError(f"not a text csv file ({exc})", path=path) from exc
    for row_no, row in enumerate(rows):
        if not row or not "".join(row).strip():
            continue
        if len(row) < 2:
            raise FormatError("expected 'clip_name,LABEL'", path=path, key=f"row {row_no + 1}")
        clip, lab = row[0].strip(), row[1].strip().upper()
        if lab not in LABELS:
            raise FormatError(
                f"label '{row[1]}' is not one of {', '.join(LABELS)}",
                path=path,
                key=f"row {row_no + 1}",
            )
        clips.append(clip)
        labels.append(LABELS.index(lab))
    if not clips:
        raise FormatError("split file has no rows", path=path)
    return clips, labels


def log_spectrogram(samples: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
    """The reference's audio input: ``(257, 188)`` log-magnitude STFT of 3 s at 22050 Hz.

    Args:
        samples: ``(n,)`` or ``(n, channels)`` waveform, float in [-1, 1] or integer PCM.
        rate: its sample rate (resampled to 22050 Hz when different).

    Returns:
        ``(257, 188)`` float32 ``log(|STFT| + 1e-7)``.
    """
    x = np.asarray(samples)
    if x.dtype.kind in "iu":
        x = x.astype(np.float64) / float(np.iinfo(x.dtype).max + 1)
    x = x.astype(np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if rate != SAMPLE_RATE:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(SAMPLE_RATE, int(rate))
        x = resample_poly(x, SAMPLE_RATE // g, int(rate) // g)
    if x.size == 0:
        x = np.zeros(1)
    x = np.tile(x, 3)[: SAMPLE_RATE * 3]
    x = np.clip(x, -1.0, 1.0)
    # centred frames: N_FFT // 2 zeros on both sides, periodic Hann window
    pad = np.pad(x, N_FFT // 2)
    n_frames = 1 + (len(pad) - N_FFT) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(pad, N_FFT)[::HOP][:n_frames]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)
    spec = np.fft.rfft(frames * window, axis=1).T  # (257, frames)
    return np.log(np.abs(spec) + 1e-7).astype(np.float32)


def _find_dir(root: Path, given: str | None, candidates: tuple[str, ...], what: str) -> Path:
    if given is not None:
        p = Path(given)
        p = p if p.is_absolute() else root / p
        if not p.is_dir():
            raise FormatError(f"{what} folder not found", path=p)
        return p
    for name in candidates:
        if (root / name).is_dir():
            return root / name
    raise FormatError(
        f"no {what} folder (looked for {', '.join(candidates)}; pass {what}_dir=...)",
        path=root,
    )


def _read_clip(folder: Path, clip: str, kind: str) -> np.ndarray:
    for ext in (".npy", ".pkl", ".wav") if kind == "audio" else (".npy", ".pkl"):
        p = folder / f"{clip}{ext}"
        if not p.is_file():
            continue
        if ext == ".npy":
            try:
                arr = np.load(p, allow_pickle=False)
            except (ValueError, OSError, EOFError) as exc:
                raise FormatError(f"cannot read .npy ({exc})", path=p) from exc
        elif ext == ".pkl":
            arr = safe_load(p)
        else:
            from scipy.io import wavfile

            try:
                rate, wav = wavfile.read(p)
            except (ValueError, OSError) as exc:
                raise FormatError(f"cannot read wav ({exc})", path=p) from exc
            arr = log_spectrogram(wav, rate)
        return c.numeric_array(arr, p, clip, ndim=(1, 2, 3, 4))
    raise FormatError(f"no {kind} file for clip", path=folder, key=clip)


@register(
    "dataset",
    "cremad",
    help="CREMA-D csv splits + spectrogram / frame feature folders (cremad:DIR)",
)
def load_cremad(
    arg: str | None,
    *,
    audio_dir: str | None = None,
    visual_dir: str | None = None,
    valid_fraction: float = 0.1,
    seed: int = 0,
    name: str | None = None,
) -> MultimodalDataset:
    """CREMA-D feature folders with csv splits (OGM-GE layout): ``cremad:/path/CREMA-D``.

    Args:
        arg: directory holding ``train.csv``, ``test.csv`` and the feature folders.
        audio_dir: folder of per-clip spectrograms (``.npy``/``.pkl``, (257, 188)) or
            ``.wav`` files (default: the first of audio, spectrograms, spectrogram, AudioWAV,
            wav that exists).
        visual_dir: folder of per-clip frame features ``(F, D)`` or ``(D,)`` (default: visual,
            frames, frame_features). Higher-rank arrays are flattened to ``(F, -1)``.
        valid_fraction: share of train carved out (stratified by class) as ``valid``.
        seed: seed of that carving, recorded in ``info["valid_seed"]``.
        name: dataset name.

    Returns:
        Six-class dataset (NEU HAP SAD FEA DIS ANG -> 0..5) with ``audio`` (N, 188, 257)
        (time-major spectrogram) and ``visual`` (N, F, D) with lengths, or (N, D); splits
        train/valid/test; ``ids`` are the clip names. ``info["protocol"] ==
        "classification"``.

    Raises:
        FormatError: missing csv, unknown label, clip in both splits, missing feature file,
            shapes that differ between clips.
    """
    root = c.require_path(arg, "cremad", directory=True)
    if not 0 <= valid_fraction < 1:
        raise ConfigError(f"valid_fraction must be in [0, 1), got {valid_fraction}")
    clips: list[str] = []
    labels: list[int] = []
    sizes: dict[str, int] = {}
    for s in ("train", "test"):
        p = root / f"{s}.csv"
        if not p.is_file():
            raise FormatError(f"missing split file {s}.csv", path=root, key=s)
        cl, lab = read_split_csv(p)
        clips += cl
        labels += lab
        sizes[s] = len(cl)
    uniq, counts = np.unique(np.array(clips), return_counts=True)
    if (counts > 1).any():
        raise FormatError(
            f"clip '{uniq[counts > 1][0]}' is listed more than once (within or across splits)",
            path=root,
            key=uniq[counts > 1][0],
        )
    adir = _find_dir(root, audio_dir, _AUDIO_DIRS, "audio")
    vdir = _find_dir(root, visual_dir, _VISUAL_DIRS, "visual")

    audio = np.empty(0, dtype=np.float32)
    for i, clip in enumerate(clips):
        spec = _read_clip(adir, clip, "audio")
        if spec.ndim != 2:
            raise FormatError(
                f"expected a (freq, time) spectrogram, got shape {spec.shape}", path=adir, key=clip
            )
        if i == 0:
            audio = np.empty((len(clips), spec.shape[1], spec.shape[0]), dtype=np.float32)
        elif spec.shape != (audio.shape[2], audio.shape[1]):
            raise FormatError(
                f"spectrogram shape {spec.shape} differs from the first clip's "
                f"{(audio.shape[2], audio.shape[1])}",
                path=adir,
                key=clip,
            )
        audio[i] = spec.T  # (freq, time) -> (time, freq)

    frames = []
    for clip in clips:
        f = _read_clip(vdir, clip, "visual")
        frames.append(f.reshape(len(f), -1) if f.ndim >= 2 else f[None, :])
    dims = {f.shape[1] for f in frames}
    if len(dims) != 1:
        raise FormatError(
            f"frame feature dimension differs between clips: {sorted(dims)}", path=vdir
        )
    single = all(len(f) == 1 for f in frames)
    lengths: dict[str, np.ndarray] = {}
    if single:  # one vector per clip
        visual = np.concatenate(frames).astype(np.float32)
    else:
        visual, lengths["visual"] = c.pad_sequences(frames)
    del frames
    info: dict[str, Any] = {
        "format": "cremad",
        "source": str(root),
        "protocol": "classification",
        "classes": list(LABELS),
        "audio_source": str(adir),
        "visual_source": str(vdir),
    }
    ds = c.build(
        root,
        modalities={"audio": audio, "visual": visual},
        target=np.asarray(labels, dtype=np.int64),
        task="classification",
        lengths=lengths,
        splits=c.split_positions(sizes),
        ids=np.array(clips, dtype=object),
        n_classes=len(LABELS),
        name=name or "cremad",
        info=info,
    )
    return c.carve_valid(ds, valid_fraction, seed)
