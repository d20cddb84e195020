"""OpenAPI 3.1 documents generated from the protos (`make proto` runs `python -m
devstack.openapi`): never edited by hand, served by the Platform service on the platform host."""
