"""python -m edgecnn.zoo: zoo/index.json written again from the live registry (after a builder is added or its
options change; tests/test_zoo.py fails until it is)."""

from edgecnn.zoo import index, registry

index.PATH.write_text(index.text(registry.as_index()))
print(f"wrote {index.PATH} ({len(registry.list_models())} models)")
