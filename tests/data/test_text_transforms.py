"""Text utilities and image transforms."""
import numpy as np
import pytest

import ember
from ember.data import transforms as T
from ember.data.text import Vocab, basic_english_tokenize, pad_sequences, bucket_by_length


def test_tokenizer_and_vocab():
    assert basic_english_tokenize("Great film!<br />It's GOOD, (really).") == \
        ["great", "film", "!", "it", "'", "s", "good", ",", "(", "really", ")", "."]
    v = Vocab([["a", "b", "a"], ["c", "a", "b", "d"]], min_freq=2, max_size=5)
    assert v.itos == ["<pad>", "<unk>", "a", "b"]
    assert v["a"] == 2 and v["zzz"] == 1 and len(v) == 4
    assert v.lookup_indices(["b", "c"]) == [3, 1] and v.lookup_tokens([2, 3]) == ["a", "b"]
    p = pad_sequences([[1, 2, 3], [4]], max_len=2)
    np.testing.assert_array_equal(p.numpy(), [[1, 2], [4, 0]])
    p = pad_sequences([[1, 2, 3], [4]], max_len=4, padding="pre", truncate="pre")
    np.testing.assert_array_equal(p.numpy(), [[0, 1, 2, 3], [0, 0, 0, 4]])
    b = bucket_by_length([5, 1, 9, 2, 8, 3, 7, 4], 2, seed=0)
    assert sorted(i for batch in b for i in batch) == list(range(8))
    assert b == bucket_by_length([5, 1, 9, 2, 8, 3, 7, 4], 2, seed=0)


def test_transforms():
    torch = pytest.importorskip("torch")
    img = np.random.default_rng(0).integers(0, 256, (6, 5, 3)).astype(np.uint8)
    x = T.ToTensor()(img)
    assert tuple(x.shape) == (3, 6, 5)
    np.testing.assert_allclose(x.numpy(), img.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    n = T.Normalize([0.5, 0.5, 0.5], [0.5, 0.25, 0.5])(x)
    np.testing.assert_allclose(n.numpy()[1], (x.numpy()[1] - 0.5) / 0.25, rtol=1e-6)
    ember.manual_seed(0)
    c1 = T.Compose([T.RandomCrop(4, padding=1), T.RandomHorizontalFlip()])(x)
    ember.manual_seed(0)
    c2 = T.Compose([T.RandomCrop(4, padding=1), T.RandomHorizontalFlip()])(x)
    assert tuple(c1.shape) == (3, 4, 4)
    np.testing.assert_array_equal(c1.numpy(), c2.numpy())
    flipped = T.RandomHorizontalFlip(p=1.0)(x)
    np.testing.assert_array_equal(flipped.numpy(), x.numpy()[:, :, ::-1])
    r = T.Resize((3, 10))(x)
    want = torch.nn.functional.interpolate(torch.tensor(x.numpy()[None]), size=(3, 10),
                                           mode="bilinear")[0].numpy()
    np.testing.assert_allclose(r.numpy(), want, rtol=1e-5, atol=1e-6)
    assert T.Lambda(lambda t: t * 0)(x).numpy().sum() == 0
    with pytest.raises(ValueError, match="RandomCrop: crop"):
        T.RandomCrop(10)(x)
