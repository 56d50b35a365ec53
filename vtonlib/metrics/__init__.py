"""Try-on metrics: SSIM, PSNR, LPIPS, FID, KID on whole images and on hand crops, plus hand-specific ones
(detector share and confidence, keypoint error, proof that pixels outside the hands did not change).

Backbone weights are read from local files only; where one is absent its metric is reported as
"not computed" with the file's name and where to put it, and the others still run.
"""

from .distribution import Inception, fid_from_features, kid_from_features
from .image import psnr, ssim
from .perceptual import Lpips

__all__ = ["Inception", "Lpips", "fid_from_features", "kid_from_features", "psnr", "ssim"]
