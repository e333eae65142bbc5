"""``gradcli check``: gradcli's derivatives against a reference and finite differences."""
