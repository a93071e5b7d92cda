"""The model runtime: every ONNX model of the service (vision and liveness)
is found through one manifest reader (``manifest``) and run in a session made
by one module (``sessions``). Which model family runs in a session is the
caller's business; how sessions are made (threads, providers) is this one's.
"""
