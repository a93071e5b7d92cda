"""Liveness: action LiveDetect on a video (``detect.live_detect``) and
passive liveness on one image (``silent.live_detect_face``).

Modules: ``video`` decodes and samples, ``mediapipe`` runs BlazeFace and Face
Mesh, ``geometry`` measures pose/mouth/eyes, ``track`` follows the largest
face, ``judges`` decides the actions, ``same_person`` checks it stays one
person, ``request`` validates the request, ``detect`` assembles the answer.
See docs/liveness.md.
"""
