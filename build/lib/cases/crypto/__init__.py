"""The encryption layer: envelope format, data keys, KEKs, encrypted fields, blind indexes."""
