"""Uploaded files: checked by their content, stored outside the web root under a random name.

What a file is comes from its bytes, never from the name or the type the browser declared: PDF, PNG and
JPEG by their signatures; DOCX and XLSX as zip archives whose `[Content_Types].xml` names the main part
of a Word document or an Excel workbook (macro-enabled ones are refused); ODT and ODS as zip archives
whose first entry `mimetype` says so (OpenDocument's own rule); plain text and CSV as UTF-8 or
Windows-1252 text without control characters (so no program passes as text). The name only has to agree
with what was found.

The name a person gave the file is kept (sanitised) for the download only: basename, Unicode NFKC, no
control or direction-override characters, nothing Windows cannot save, length-limited. The bytes are
written under `Settings.attachments_dir` as a random 64-character token (a temporary file renamed into
place, so a reader never sees half a file) with their SHA-256 and size.

These functions block (file I/O): callers run them in a worker thread. They return reasons, not
messages, so the text is translated in the request's own context (`message`).
"""

from __future__ import annotations

import codecs
import enum
import hashlib
import os
import re
import secrets
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

from app.i18n import _, format_number
from app.settings import ROOT, Settings

CHUNK = 1024 * 1024
# Litestar's own ceiling for an upload route; ATTACHMENT_MAX_BYTES above it is cut to it.
MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024
# The rest of a multipart body besides the file: part headers, the CSRF token, the boundary lines.
FORM_OVERHEAD_BYTES = 16 * 1024
MAX_FILENAME_LENGTH = 150
MAX_XML_BYTES = 1024 * 1024  # [Content_Types].xml of a real document is a few kilobytes
STORAGE_NAME = re.compile(r"[0-9a-f]{64}")
WEB_ROOT = ROOT / "static"


@dataclass(frozen=True)
class FileType:
    key: str
    content_type: str
    extensions: tuple[str, ...]


PDF = FileType("pdf", "application/pdf", (".pdf",))
PNG = FileType("png", "image/png", (".png",))
JPEG = FileType("jpeg", "image/jpeg", (".jpg", ".jpeg"))
DOCX = FileType("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",))
XLSX = FileType("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",))
ODT = FileType("odt", "application/vnd.oasis.opendocument.text", (".odt",))
ODS = FileType("ods", "application/vnd.oasis.opendocument.spreadsheet", (".ods",))
TEXT = FileType("text", "text/plain", (".txt", ".csv"))
TYPES = (PDF, PNG, JPEG, DOCX, XLSX, ODT, ODS, TEXT)

# The main part of an Office Open XML package, as [Content_Types].xml names it.
OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
}
ODF_MIMETYPES = {ODT.content_type: ODT, ODS.content_type: ODS}
CONTENT_TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
# Control characters text files have; anything else below 0x20 (and DEL) means binary.
TEXT_CONTROLS = frozenset(b"\t\n\r\f")
BINARY_BYTES = bytes(b for b in range(32) if b not in TEXT_CONTROLS) + b"\x7f"
WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{n}" for n in range(1, 10)} | {f"lpt{n}" for n in range(1, 10)}
)
WINDOWS_FORBIDDEN = re.compile(r'[<>:"|?*]')


@dataclass(frozen=True)
class Detected:
    type: FileType
    charset: str | None = None  # text: "utf-8" or "windows-1252"


class Reason(enum.StrEnum):
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    NOT_ALLOWED = "not_allowed"
    NAME_MISMATCH = "name_mismatch"


@dataclass(eq=False)
class Rejected(Exception):
    reason: Reason
    extension: str = ""
    details: dict[str, str] = field(default_factory=dict)

    @property
    def status_code(self) -> int:
        return 413 if self.reason == Reason.TOO_LARGE else 422


@dataclass(frozen=True)
class Stored:
    filename: str
    content_type: str
    storage_name: str
    size_bytes: int
    sha256: str


# --- what the file is -----------------------------------------------------------------------------


def detect(source: IO[bytes]) -> Detected | None:
    """The allowed type the content is, or None."""
    source.seek(0)
    head = source.read(8)
    if head.startswith(b"%PDF-"):
        return Detected(PDF)
    if head == b"\x89PNG\r\n\x1a\n":
        return Detected(PNG)
    if head.startswith(b"\xff\xd8\xff"):
        return Detected(JPEG)
    if head.startswith(b"PK\x03\x04"):
        found = _office(source)
        return Detected(found) if found else None
    charset = _text_charset(source)
    return Detected(TEXT, charset) if charset else None


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """A small member's bytes; None when it claims (or turns out) to be bigger than any real one."""
    if info.file_size > MAX_XML_BYTES:
        return None
    with archive.open(info) as member:
        data = member.read(MAX_XML_BYTES + 1)
    return data if len(data) <= MAX_XML_BYTES else None


def _office(source: IO[bytes]) -> FileType | None:
    source.seek(0)
    try:
        with zipfile.ZipFile(source) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            if infos and infos[0].filename == "mimetype":
                # OpenDocument: `mimetype` first, stored, holding the document's media type.
                raw = _read_member(archive, infos[0])
                if raw is None or infos[0].compress_type != zipfile.ZIP_STORED:
                    return None
                return ODF_MIMETYPES.get(raw.decode("ascii", "replace").strip())
            if "[Content_Types].xml" not in names:
                return None
            raw = _read_member(archive, archive.getinfo("[Content_Types].xml"))
            if raw is None:
                return None
            # expat ≥ 2.4.1 limits entity amplification (billion laughs) and ElementTree never fetches external
            # entities or DTDs; the input is 1 MB at most (tests/integration/test_security.py tries both).
            root = ElementTree.fromstring(raw)  # noqa: S314 - see above  # nosec B314
            for override in root.iter(f"{CONTENT_TYPES_NS}Override"):
                found = OOXML_MAIN.get(override.get("ContentType", ""))
                part = override.get("PartName", "").lstrip("/")
                if found is not None and part in names:
                    return found
            return None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ElementTree.ParseError, KeyError, ValueError,
            NotImplementedError, RuntimeError, EOFError, OSError):  # fmt: skip
        return None


def _text_charset(source: IO[bytes]) -> str | None:
    """'utf-8' or 'windows-1252' for text without control characters; None for anything else."""
    source.seek(0)
    utf8 = codecs.getincrementaldecoder("utf-8")()
    cp1252 = codecs.getincrementaldecoder("cp1252")()
    utf8_ok = cp1252_ok = True
    while chunk := source.read(CHUNK):
        if len(chunk.translate(None, BINARY_BYTES)) != len(chunk):  # a NUL or another control byte
            return None
        if utf8_ok:
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError:
                utf8_ok = False
        if cp1252_ok:
            try:
                cp1252.decode(chunk)
            except UnicodeDecodeError:
                cp1252_ok = False
        if not utf8_ok and not cp1252_ok:
            return None
    if utf8_ok:
        try:
            utf8.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
    return "windows-1252" if cp1252_ok else None


# --- the name -------------------------------------------------------------------------------------


def extension(filename: str) -> str:
    stem, dot, ext = filename.rpartition(".")
    return f".{ext.lower()}" if dot and stem else ""


def sanitise_filename(raw: str, max_length: int = MAX_FILENAME_LENGTH) -> str:
    """A name safe to offer in a download: no directories, no control or direction characters, nothing
    Windows refuses, at most `max_length` characters with the extension kept. May be "" (nothing left)."""
    name = unicodedata.normalize("NFKC", raw or "")  # also turns a fullwidth solidus into "/"
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Cc (NUL, newlines), Cf (right-to-left overrides that make "gpj.exe" look like "exe.jpg"), Cs, Co, Cn.
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = WINDOWS_FORBIDDEN.sub("_", name)
    name = " ".join(name.split()).strip(" .")  # no ".."/hidden names, no trailing dot Windows drops
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if not stem:  # ".pdf" after stripping, or nothing at all
        return ""
    if stem.lower() in WINDOWS_RESERVED:
        stem = "_" + stem
    ext = ext[:16]
    room = max(1, max_length - (len(ext) + 1 if ext else 0))
    stem = stem[:room].rstrip(" .") or "_"
    return f"{stem}.{ext}" if ext else stem


# --- checking and storing -------------------------------------------------------------------------


def size_of(source: IO[bytes]) -> int:
    source.seek(0, os.SEEK_END)
    size = source.tell()
    source.seek(0)
    return size


def check(source: IO[bytes], declared_name: str, max_bytes: int) -> tuple[str, str]:
    """(filename, content type) for an acceptable file; raises Rejected otherwise."""
    size = size_of(source)
    if size == 0:
        raise Rejected(Reason.EMPTY)
    if size > max_bytes:
        raise Rejected(Reason.TOO_LARGE)
    filename = sanitise_filename(declared_name)
    found = detect(source)
    if found is None:
        raise Rejected(Reason.NOT_ALLOWED, extension(filename))
    ext = extension(filename)
    if not ext:
        filename = sanitise_filename((filename or "attachment") + found.type.extensions[0])
        ext = found.type.extensions[0]
    elif ext not in found.type.extensions:
        raise Rejected(Reason.NAME_MISMATCH, ext, {"found": found.type.key})
    content_type = found.type.content_type
    if found.type is TEXT:
        content_type = ("text/csv" if ext == ".csv" else "text/plain") + f"; charset={found.charset}"
    return filename, content_type


def storage_root(settings: Settings) -> Path:
    """The attachments directory; refused when it would be served as static files."""
    root = settings.attachments_dir.resolve()
    web_root = WEB_ROOT.resolve()
    if root == web_root or web_root in root.parents:
        raise RuntimeError("ATTACHMENTS_DIR must be outside the web root (static/)")
    return root


def path_of(settings: Settings, storage_name: str) -> Path:
    if not STORAGE_NAME.fullmatch(storage_name):
        raise ValueError("not a storage name")
    return storage_root(settings) / storage_name[:2] / storage_name


def store(settings: Settings, source: IO[bytes], declared_name: str) -> Stored:
    """Check the file and write it atomically; raises Rejected (nothing written) when it is not allowed."""
    max_bytes = min(settings.attachment_max_bytes, MAX_ATTACHMENT_BYTES)
    filename, content_type = check(source, declared_name, max_bytes)
    storage_name = secrets.token_hex(32)
    target = path_of(settings, storage_name)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")  # mode 0600
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(handle, "wb") as out:
            source.seek(0)
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise Rejected(Reason.TOO_LARGE)
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_directory(target.parent)
    return Stored(filename, content_type, storage_name, size, digest.hexdigest())


def _sync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def remove(settings: Settings, storage_name: str) -> None:
    path_of(settings, storage_name).unlink(missing_ok=True)


# --- for people -----------------------------------------------------------------------------------


def size_label(size: int) -> str:
    if size >= 1024 * 1024:
        return _("%(size)s MB") % {"size": format_number(round(size / (1024 * 1024), 1))}
    if size >= 1024:
        return _("%(size)s kB") % {"size": format_number(round(size / 1024))}
    return _("%(size)s bytes") % {"size": format_number(size)}


ALLOWED_TYPES_TEXT = "PDF, PNG, JPEG, DOCX, XLSX, ODT, ODS, TXT, CSV"
TYPE_NAMES = {
    "pdf": "PDF",
    "png": "PNG",
    "jpeg": "JPEG",
    "docx": "DOCX",
    "xlsx": "XLSX",
    "odt": "ODT",
    "ods": "ODS",
    "text": "TXT/CSV",
}


def message(problem: Rejected, max_bytes: int) -> str:
    """The translated explanation of a refused upload."""
    if problem.reason == Reason.EMPTY:
        return _("The file is empty. Choose the file again.")
    if problem.reason == Reason.TOO_LARGE:
        return _("The file is too large. The largest file allowed is %(limit)s.") % {
            "limit": size_label(max_bytes)
        }
    if problem.reason == Reason.NAME_MISMATCH:
        return _(
            "The file's name ends in %(extension)s, but its content is a %(found)s file. Check that you "
            "chose the right file, or correct its name."
        ) % {"extension": problem.extension, "found": TYPE_NAMES.get(problem.details.get("found", ""), "?")}
    return _(
        "This type of file cannot be attached. Allowed are %(types)s files, checked by their content."
    ) % {"types": ALLOWED_TYPES_TEXT}
