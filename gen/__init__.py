"""plgen: Azure Private Link provider and consumer IaC from one tenant manifest.

The pipeline is load -> validate -> plan -> render -> verify -> write; `gen.api` strings the
stages together and `gen.cli` is a thin click layer over it.
"""

__version__ = "0.1.0"
