"""``openfrs``: the command line for OpenFRS (or Huawei Cloud FRS itself).

A client only: it talks to a running server through the official
``huaweicloudsdkfrs`` client and never imports the service (``chalicelib``),
so it is not packaged into the Lambda and the server needs none of its
dependencies (click, tqdm; tests/test_layering.py keeps it that way).
"""
