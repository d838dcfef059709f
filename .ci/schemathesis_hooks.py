"""Schemathesis hooks for .ci/schemathesis.

tus sends upload bytes as `application/offset+octet-stream`, a media type schemathesis has no
serializer for: a fuzzed `PATCH /api/v1/uploads/{id}` failed the run with "Serialization not
possible". The bytes are plain binary, so the built-in octet-stream serializer fits.
"""

import schemathesis

schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
