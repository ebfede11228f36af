"""A Terraform provider double for hashicorp/azurerm 4.79.0 (tests only): real Terraform core
validates and plans plgen's output offline against the provider's real schema and validators.
See README.md in this folder."""
