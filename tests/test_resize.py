"""Anti-aliased downsampling against numbers computed with scikit-image 0.26 (not a dependency)."""
from __future__ import annotations

import numpy as np
import pytest

from functiongraphs.resize import antialiased_resize
from sculpt.errors import ConfigError

# skimage.transform.resize(img, shape, anti_aliasing=True) of the fixtures below, computed once with
# scikit-image 0.26.0 / scipy 1.17.1 in a scratch environment outside the repository.
SK_28_TO_7_ROW0 = [0.33696962438300215, 0.554478086740924, 0.4673737744611869, 0.47129498425030725,
                   0.57115780821852, 0.40889011161756417, 0.6889785197921432]
SK_28_TO_7_SUM = 24.527979958474347
SK_12x8_TO_3x2 = [[0.41313687196721577, 0.5594342922767187], [0.4677217176440883, 0.5445216453913604],
                  [0.5216711030409358, 0.5172351557352232]]
SK_FLOAT_5x6_TO_2x3 = [[5.995994130708122, 7.888751763486318, 9.781509396264514],
                       [19.218490603735482, 21.11124823651368, 23.004005869291877]]


def _u8(shape, mult):
    return (np.arange(np.prod(shape)).reshape(shape) * mult % 256).astype(np.uint8)


def test_28_to_7_matches_skimage():
    # skimage maps uint8 to [0, 1] first; the paper then multiplied by 255 and divided again
    out = antialiased_resize(_u8((28, 28), 37) / 255.0, 7, 7)
    np.testing.assert_allclose(out[0], SK_28_TO_7_ROW0, rtol=0, atol=1e-13)
    assert out.sum() == pytest.approx(SK_28_TO_7_SUM, abs=1e-12)


def test_non_square_and_non_integer_factors_match_skimage():
    np.testing.assert_allclose(antialiased_resize(_u8((12, 8), 11) / 255.0, 3, 2), SK_12x8_TO_3x2,
                               rtol=0, atol=1e-13)
    img = np.arange(30, dtype=np.float64).reshape(5, 6)  # factors 2.5 and 2
    np.testing.assert_allclose(antialiased_resize(img, 2, 3), SK_FLOAT_5x6_TO_2x3, rtol=0, atol=1e-12)


def test_a_stack_is_resized_image_by_image_and_differs_from_block_means():
    imgs = np.stack([_u8((28, 28), 37), _u8((28, 28), 91)]) / 255.0
    out = antialiased_resize(imgs, 7, 7)
    assert out.shape == (2, 7, 7)
    np.testing.assert_array_equal(out[1], antialiased_resize(imgs[1], 7, 7))
    block = imgs.reshape(2, 7, 4, 7, 4).mean(axis=(2, 4))
    assert np.abs(out - block).max() > 0.05  # a Gaussian prefilter, not the 4x4 block mean
    const = np.full((28, 28), 0.25)
    np.testing.assert_allclose(antialiased_resize(const, 7, 7), 0.25, rtol=0, atol=1e-15)
    # same size: sigma 0 and the sample points are the pixels themselves
    np.testing.assert_allclose(antialiased_resize(imgs[0], 28, 28), imgs[0], rtol=0, atol=1e-15)


def test_bad_shapes_are_refused():
    with pytest.raises(ConfigError, match=r"expected an \(H, W\) image"):
        antialiased_resize(np.zeros(5), 2, 2)
    with pytest.raises(ConfigError, match="height=8 must be an integer in 1..7"):
        antialiased_resize(np.zeros((7, 7)), 8, 3)
    with pytest.raises(ConfigError, match="width=0"):
        antialiased_resize(np.zeros((7, 7)), 3, 0)
