# Identity (owner: identity): tokens, AK/SK signatures, credentials store.
# `make serve` already runs chalicelib.cli.serve_banner (bootstrap + dev credentials).
.PHONY: test-identity test-identity-sdk identity-admin identity-rotate-token-key

# Unit tests: real huaweicloudsdkcore signer, SQLite + SSM (moto) stores, CLI.
test-identity: venv
	$(PYBIN) -m pytest -q tests/identity --ignore=tests/identity/test_sdk.py

# The official FrsClient against a real `chalice local` process (needs models).
test-identity-sdk: models
	$(PYBIN) -m pytest -q tests/identity/test_sdk.py

# Any admin command: make identity-admin ARGS="key create --project <id>"
identity-admin: venv
	$(PYBIN) -m chalicelib.cli.admin $(ARGS)

# Invalidate every issued token (running processes notice within FRS_IDENTITY_CACHE_SECONDS).
identity-rotate-token-key: venv
	$(PYBIN) -m chalicelib.cli.admin token-key rotate
