"""MediaPipe's pose, hands and face models (inside the pinned wheel: offline, CPU) -> OpenPose's keypoints.

BODY_25 from MediaPipe Pose's 33 landmarks (``MP_TO_BODY25``; both name the person's own left and right):

===================  =============================  ===================  ============================
BODY_25              MediaPipe Pose                 BODY_25              MediaPipe Pose
===================  =============================  ===================  ============================
0 nose               0 nose                         13 left knee         25 left knee
1 neck               mid(11, 12), the shoulders     14 left ankle        27 left ankle
2 / 5 r / l shoulder 12 / 11                        15 / 16 r / l eye    5 / 2 (the eye centres)
3 / 6 r / l elbow    14 / 13                        17 / 18 r / l ear    8 / 7
4 / 7 r / l wrist    16 / 15                        19 left big toe      31 left foot index
8 mid hip            mid(23, 24)                    20 left small toe    not seen (0)
9 / 12 r / l hip     24 / 23                        21 left heel         29 left heel
10 / 11 r knee/ankle 26 / 28                        22 right big toe     32 right foot index
                                                    23 right small toe   not seen (0); 24 r heel 30
===================  =============================  ===================  ============================

Confidence is MediaPipe's visibility (the lower of the two for a midpoint); a point it does not see
(visibility under ``MIN_VISIBILITY``, or outside the photo) is (0, 0, 0), as OpenPose writes it. Hands come
from MediaPipe Hands (the same 21-point topology as OpenPose's hand model) and go to the body wrist they are
nearest to, so a crossed arm keeps its own hand.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from ..data.pose import Keypoints

MP_TO_BODY25 = {0: 0, 2: 12, 3: 14, 4: 16, 5: 11, 6: 13, 7: 15, 9: 24, 10: 26, 11: 28, 12: 23, 13: 25, 14: 27,
                15: 5, 16: 2, 17: 8, 18: 7, 19: 31, 21: 29, 22: 32, 24: 30}
MIDPOINTS = {1: (11, 12), 8: (23, 24)}
MIN_VISIBILITY = 0.3
# MediaPipe's face mesh: the indices of the face oval, in order around it
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148,
             176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)


@dataclass
class Landmarks:
    """What MediaPipe found in one photo (pixels of that photo)."""

    keypoints: Keypoints | None  # BODY_25 + both hands; None when no person was found
    person_mask: np.ndarray  # float (H, W) in [0, 1], Pose's segmentation
    faces: list = field(default_factory=list)  # (468, 2) face-mesh points per face found
    hands_found: int = 0
    people: int = 1  # people seen: faces found (full-range detector) or separate large person regions

    @property
    def face(self) -> np.ndarray | None:
        return self.faces[0] if self.faces else None


def body25_from_pose(landmarks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(33, 3) MediaPipe landmarks (x, y in pixels, visibility) -> (25, 3) BODY_25."""
    h, w = size
    seen = ((landmarks[:, 2] >= MIN_VISIBILITY) & (landmarks[:, 0] >= 0) & (landmarks[:, 0] < w)
            & (landmarks[:, 1] >= 0) & (landmarks[:, 1] < h))
    body = np.zeros((25, 3), np.float32)
    for b, m in MP_TO_BODY25.items():
        if seen[m]:
            body[b] = landmarks[m]
    for b, (i, j) in MIDPOINTS.items():
        if seen[i] and seen[j]:
            body[b, :2] = (landmarks[i, :2] + landmarks[j, :2]) / 2
            body[b, 2] = min(landmarks[i, 2], landmarks[j, 2])
    return body


def assign_hands(body: np.ndarray, hands: list[dict]) -> dict[str, np.ndarray]:
    """{"left": (21, 3), "right": (21, 3)}: each detected hand at the body wrist nearest its own wrist point
    (BODY_25 7 = left, 4 = right), else by the detector's own label; zeros where no hand was found."""
    out = {"left": np.zeros((21, 3), np.float32), "right": np.zeros((21, 3), np.float32)}
    wrists = {side: body[i] for side, i in (("left", 7), ("right", 4)) if body[i, 2] > 0}
    if len(hands) == 2 and len(wrists) == 2:
        d = lambda hand, side: float(np.linalg.norm(hand["points"][0, :2] - wrists[side][:2]))  # noqa: E731
        a, b = hands
        straight = d(a, "left") + d(b, "right")
        crossed = d(a, "right") + d(b, "left")
        out["left"], out["right"] = (a["points"], b["points"]) if straight <= crossed else (b["points"], a["points"])
        return out
    for hand in hands:
        side = hand["side"]
        if wrists:
            side = min(wrists, key=lambda s: np.linalg.norm(hand["points"][0, :2] - wrists[s][:2]))
        if not out[side][:, 2].any():
            out[side] = hand["points"]
    return out


def _regions(person: np.ndarray, share: float = 0.25) -> int:
    """Separate pieces of the person mask at least ``share`` of the largest one's size: one per person."""
    import cv2

    n, _, stats, _ = cv2.connectedComponentsWithStats(person.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    return int((areas >= share * areas.max()).sum()) if len(areas) else 0


class Estimator:
    """MediaPipe Pose (with its person segmentation), Face Mesh and Hands, loaded once."""

    def __init__(self, hand_confidence: float = 0.3):
        from ..hands.detector import HandDetector, _native_logs_silenced

        with warnings.catch_warnings(), _native_logs_silenced():
            warnings.simplefilter("ignore")
            from mediapipe.python.solutions import face_detection, face_mesh, pose

            self._pose = pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True)
            self._face = face_mesh.FaceMesh(static_image_mode=True, max_num_faces=3)
            self._faces = face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5)
        self._silence, self._warm = _native_logs_silenced, False
        self.hands = HandDetector(min_confidence=hand_confidence)

    def __call__(self, image: np.ndarray) -> Landmarks:
        h, w = image.shape[:2]
        image = np.ascontiguousarray(image)
        with warnings.catch_warnings(), self._silence(grace=0.0 if self._warm else 0.2):
            warnings.simplefilter("ignore")
            self._warm = True
            pose = self._pose.process(image)
            faces = self._face.process(image)
            detected = self._faces.process(image).detections or []
        mask = (pose.segmentation_mask if pose.segmentation_mask is not None else np.zeros((h, w))).astype(np.float32)
        found_faces = [np.array([[p.x * w, p.y * h] for p in f.landmark], np.float32)
                       for f in (faces.multi_face_landmarks or [])]
        people = max(len(detected), len(found_faces), _regions(mask > 0.5))
        if pose.pose_landmarks is None:
            return Landmarks(None, mask, found_faces, people=people)
        points = np.array([[p.x * w, p.y * h, p.visibility] for p in pose.pose_landmarks.landmark], np.float32)
        body = body25_from_pose(points, (h, w))
        hands = self.hands.detect(image)
        assigned = assign_hands(body, hands)
        return Landmarks(Keypoints(body, assigned["left"], assigned["right"]), mask, found_faces, len(hands), people)

    def close(self) -> None:
        with self._silence():  # closing a graph logs too
            self._pose.close()
            self._face.close()
            self._faces.close()
        self.hands.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
