"""What a parser's exception says about the file: one table per format.

    exception raised while reading a file ─► classify(format, exc, name)
        ─► PermanentError(kind) if it describes the file (never retried), or
           None: an environment problem (a permission, a missing file, a full
           disk), left to the engine as `error`

The verdict depends only on the exception, never on timing or on which reader
ran first, so a file ends with the same kind in every mode and every run.
Kinds (docs/ARCHITECTURE.md, reasons and kinds): damaged or unreadable
content -> corrupt; encrypted -> password_required; too big -> too_large;
a type nothing here reads -> unsupported.
"""

from __future__ import annotations

import struct
import zipfile
import zlib

from batchgui.core.errors import ErrorKind, PermanentError

# exception class names, by format: matched by name so that a library that is
# not imported (or changes its module layout) costs nothing
_CORRUPT_NAMES = {
    "image": {"UnidentifiedImageError"},
    "pdf": {
        "PdfReadError",
        "PdfStreamError",
        "ParseError",
        "DeprecationError",  # pypdf 7: a deprecated filter name in a damaged file
        "PdfiumError",
        "PDFSyntaxError",
        "PSEOF",
        "PSSyntaxError",
        "PDFNoValidXRef",
        "PDFTypeError",
        "PDFValueError",
        "PDFNotImplementedError",
        "EmptyFileError",
    },
    "office": {
        "PackageNotFoundError",
        "XMLSyntaxError",
        "ParseError",
        "InvalidFileException",
        "BadZipFile",
        "NotAPowerPointFile",
        "InvalidXmlError",
    },
}
# what a parser says that would mislead: python-docx's "Package not found at PATH"
# names a file that is there (its ZIP package is what cannot be read)
_IN_WORDS = {"PackageNotFoundError": "not a whole Office document (its ZIP cannot be read)"}
_PASSWORD_NAMES = {"FileNotDecryptedError", "PDFPasswordIncorrect", "PDFEncryptionError"}
_TOO_LARGE_NAMES = {"DecompressionBombError", "DecompressionBombWarning"}


def classify(fmt: str, exc: BaseException, name: str) -> PermanentError | None:
    """The permanent failure this exception means for a file of this format."""
    if isinstance(exc, PermanentError):
        return exc
    kind = type(exc).__name__
    text = " ".join(str(exc).split())[:200] or kind
    if kind in _PASSWORD_NAMES:
        return PermanentError(f"{name} is password-protected", ErrorKind.PASSWORD_REQUIRED)
    if kind in _TOO_LARGE_NAMES or (isinstance(exc, ValueError) and "too large" in text.lower()):
        return PermanentError(f"refused: {name}: {text}", ErrorKind.TOO_LARGE)
    if isinstance(exc, MemoryError):
        return PermanentError(
            f"refused: {name} needs more memory than allowed", ErrorKind.TOO_LARGE
        )
    if isinstance(exc, OSError) and exc.errno is not None:
        return None  # the environment (permissions, a missing file, a full disk)
    if kind in _CORRUPT_NAMES.get(fmt, set()) or isinstance(exc, _CONTENT_ERRORS):
        text = _IN_WORDS.get(kind, text)
        return PermanentError(f"{name} is damaged: {text}", ErrorKind.CORRUPT)
    return None


# errors raised by parsing content, whatever the format: a decoder's OSError
# carries no errno ("decoder error -2", "image file is truncated")
_CONTENT_ERRORS = (
    OSError,
    SyntaxError,
    EOFError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    RecursionError,
    UnicodeDecodeError,
    struct.error,
    zlib.error,
    zipfile.BadZipFile,
)
