"""MediaPipe Hands, with the models that ship inside the pinned ``mediapipe`` wheel: no download, CPU.

MediaPipe returns the same 21 points per hand as OpenPose (wrist, then four points per finger from the
thumb), so a detected hand becomes a mask through the same drawing as annotated keypoints.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from contextlib import contextmanager

import numpy as np


@contextmanager
def _native_logs_silenced(grace: float = 0.0):
    """MediaPipe's C++ core logs start-up chatter straight to file descriptor 2 ("Created TensorFlow
    Lite XNNPACK delegate", "Feedback manager requires ..."); park that descriptor on /dev/null. Some of it
    comes from the graph's own threads a moment after a first call returns: ``grace`` seconds wait for it."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        if grace:
            time.sleep(grace)
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class HandDetector:
    """Find hands in RGB photos. ``min_confidence`` is MediaPipe's palm-detection threshold.

    MediaPipe labels handedness as if the photo were mirrored (a selfie); catalogue photos are not, so
    its labels are swapped unless ``mirrored`` is set.
    """

    def __init__(self, min_confidence: float = 0.3, max_hands: int = 2, mirrored: bool = False,
                 model_complexity: int = 1):
        with warnings.catch_warnings(), _native_logs_silenced():
            warnings.simplefilter("ignore")  # protobuf deprecation noise from mediapipe's import
            try:
                from mediapipe.python.solutions import hands as mp_hands
            except ImportError as e:  # pragma: no cover - depends on the installation
                raise ImportError("the hand detector needs mediapipe==0.10.14 (the last wheels that ship the "
                                  f"hand models); install the course's pinned environment ({e})") from None
            self._hands = mp_hands.Hands(static_image_mode=True, max_num_hands=max_hands,
                                         min_detection_confidence=min_confidence,
                                         model_complexity=model_complexity)
        self.mirrored = mirrored
        self.min_confidence = min_confidence
        self._warm = False

    def detect(self, image: np.ndarray) -> list[dict]:
        """Hands in an RGB ``uint8`` image: [{"side", "points" (21, 3) with the handedness score as
        confidence, "score"}], in pixels."""
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
        h, w = image.shape[:2]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self._warm:
                result = self._hands.process(np.ascontiguousarray(image))
            else:  # the first call loads the models, and logs about it
                with _native_logs_silenced(grace=0.2):
                    result = self._hands.process(np.ascontiguousarray(image))
                self._warm = True
        found = []
        for landmarks, handedness in zip(result.multi_hand_landmarks or [], result.multi_handedness or []):
            label = handedness.classification[0].label.lower()
            score = float(handedness.classification[0].score)
            if not self.mirrored:
                label = {"left": "right", "right": "left"}[label]
            points = np.array([[lm.x * w, lm.y * h, score] for lm in landmarks.landmark], np.float32)
            found.append({"side": label, "points": points, "score": score})
        return found

    def close(self) -> None:
        with _native_logs_silenced():  # closing a graph logs too
            self._hands.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
