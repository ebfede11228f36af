"""Stage 1, load: YAML text -> plain Python values plus the line/column of every node.

We compose the document ourselves from the parser's event stream (libyaml's C parser when
present) instead of using a Loader, because a Loader would silently accept what we must refuse
(duplicate keys, anchors and aliases, custom tags) and forget where each value came from.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from .errors import Location, ManifestError, Problem

MAX_MANIFEST_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 32

_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_resolver = Resolver()
_constructor = SafeConstructor()

STDIN = "-"  # a MANIFEST argument that means standard input
STDIN_SOURCE = "<stdin>"  # how error locations name standard input

PathKey = tuple[str | int, ...]
TenantIds = Callable[[int], "str | None"]  # tenant index -> the id written in the manifest, if any
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# Only ids that cannot disguise the rest of the line are repeated in a path.
_READABLE_TENANT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SAFE_TENANT_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")  # may name a file


def format_path(path: PathKey, tenant_ids: TenantIds | None = None, *, by_id: bool = False) -> str:
    """('tenants', 3, 'subscriptions', 0) -> 'tenants[3] (acme).subscriptions[0]'; the tenant's
    id, from `tenant_ids`, is added when it is readable. `by_id` (a manifest directory, where
    a tenant's position means nothing): 'tenants[acme].subscriptions[0]'."""
    text = ""
    for position, part in enumerate(path):
        if isinstance(part, int) and position == 1 and path[0] == "tenants" and tenant_ids is not None:
            label = _tenant_label(tenant_ids(part))
            text += f"[{label[2:-1]}]" if by_id and label else f"[{part}]{label}"
        elif isinstance(part, int):
            text += f"[{part}]"
        elif part == "[key]":  # pydantic's marker for a problem with a mapping key itself
            continue
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += "[" + json.dumps(part, ensure_ascii=True) + "]"
    return text


def _tenant_label(tenant_id: object) -> str:
    if isinstance(tenant_id, str) and _READABLE_TENANT_ID.fullmatch(tenant_id):
        return f" ({tenant_id})"
    return ""


@dataclass
class Document:
    """A loaded manifest: its values and where each one was written.

    A manifest directory (gen.directory) is one Document too: `source` is its provider file,
    `tenant_sources[i]` the file tenants[i] was written in (marks are that file's lines), and
    `manifest_files` the sha256 of every file read, by path relative to the directory.
    """

    source: str
    data: Any
    marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    text: str = ""
    tenant_sources: list[str] | None = None
    manifest_files: dict[str, str] | None = None
    problems: list[Problem] = field(default_factory=list)  # found while loading; reported with validation's

    @property
    def is_directory(self) -> bool:
        return self.tenant_sources is not None

    def source_of(self, path: PathKey) -> str:
        """The file `path` was written in."""
        sources = self.tenant_sources
        if sources is not None and len(path) > 1 and path[0] == "tenants" and isinstance(path[1], int) \
                and 0 <= path[1] < len(sources):
            return sources[path[1]]
        return self.source

    def manifest_sha256(self) -> str:
        """The file's sha256; for a directory, the sha256 of its files' digests, one line each
        as `sha256sum` prints them (`<sha256>  <path>`), sorted by path."""
        if self.manifest_files is None:
            return hashlib.sha256(self.text.encode("utf-8")).hexdigest()
        return files_sha256(self.manifest_files)

    def format_path(self, path: PathKey) -> str:
        return format_path(path, self.tenant_id, by_id=self.is_directory)

    def locate(self, path: PathKey, *, at_key: bool = False) -> Location:
        """The location of `path`, or of its nearest written ancestor (a missing field is
        reported where its parent mapping starts)."""
        if path and path[-1] == "[key]":
            path, at_key = tuple(path[:-1]), True
        probe = tuple(path)
        source = self.source_of(probe)
        while True:
            table = self.key_marks if at_key and probe == tuple(path) else self.marks
            if probe in table:
                line, column = table[probe]
                return Location(source, line, column, self.format_path(path))
            if not probe:
                return Location(source, 1, 1, self.format_path(path))
            probe = probe[:-1]

    def tenant_id(self, index: int) -> str | None:
        tenants = self.data.get("tenants") if isinstance(self.data, dict) else None
        if isinstance(tenants, list) and 0 <= index < len(tenants) and isinstance(tenants[index], dict):
            tenant_id = tenants[index].get("id")
            return tenant_id if isinstance(tenant_id, str) else None
        return None


class _Composer:
    def __init__(self, source: str, parser, by_id: bool = False):
        self.source = source
        self.by_id = by_id
        # the parser's own methods, called directly: a generator and a peek buffer around them
        # cost a third of the load time of a 10,000-tenant manifest
        self.next_event = parser.get_event
        self.peek = parser.peek_event
        self.marks: dict[PathKey, tuple[int, int]] = {}
        self.key_marks: dict[PathKey, tuple[int, int]] = {}
        self.tenant_ids: dict[int, str] = {}  # as far as composed, so that errors can name the tenant

    def fail(self, event, path: PathKey, message: str) -> ManifestError:
        mark = event.start_mark
        return ManifestError(
            Problem(Location(self.source, mark.line + 1, mark.column + 1,
                             format_path(path, self.tenant_ids.get, by_id=self.by_id)), message)
        )

    def document(self, root: Callable[[], Any] | None = None, empty: str = "the manifest is empty") -> Any:
        event = self.next_event()
        assert isinstance(event, yaml.StreamStartEvent)
        event = self.next_event()
        if isinstance(event, yaml.StreamEndEvent):
            raise self.fail(event, (), empty)
        value = self.node((), 0) if root is None else root()
        event = self.next_event()  # DocumentEndEvent
        event = self.next_event()
        if not isinstance(event, yaml.StreamEndEvent):
            raise self.fail(event, (), "the manifest must be a single YAML document")
        return value

    def node(self, path: PathKey, depth: int) -> Any:
        event = self.next_event()
        if depth > MAX_DEPTH:
            raise self.fail(event, path, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(event, yaml.AliasEvent):
            raise self.fail(event, path, "YAML aliases (*name) are not allowed; write the value out")
        if getattr(event, "anchor", None) is not None:
            raise self.fail(event, path, "YAML anchors (&name) are not allowed; write the value out")
        self.marks[path] = (event.start_mark.line + 1, event.start_mark.column + 1)
        if isinstance(event, yaml.ScalarEvent):
            return self.scalar(event, path)
        if event.tag is not None and not event.implicit:
            raise self.fail(event, path, f"YAML tags ({event.tag}) are not allowed")
        if isinstance(event, yaml.SequenceStartEvent):
            items = []
            while not isinstance(self.peek(), yaml.SequenceEndEvent):
                items.append(self.node(path + (len(items),), depth + 1))
            self.next_event()
            return items
        if isinstance(event, yaml.MappingStartEvent):
            return self.mapping(path, depth)
        raise self.fail(event, path, f"unexpected YAML event {type(event).__name__}")

    def tenants(self, first: int) -> list[Any]:
        """A tenant file's root: one tenant (a mapping), composed as tenants[first], or a list
        of tenants, composed as tenants[first], tenants[first + 1], ..."""
        event = self.peek()
        if not isinstance(event, yaml.SequenceStartEvent):
            return [self.node(("tenants", first), 2)]
        if getattr(event, "anchor", None) is not None:
            raise self.fail(event, ("tenants",), "YAML anchors (&name) are not allowed; write the value out")
        if event.tag is not None and not event.implicit:
            raise self.fail(event, ("tenants",), f"YAML tags ({event.tag}) are not allowed")
        self.next_event()
        self.marks[("tenants",)] = (event.start_mark.line + 1, event.start_mark.column + 1)  # says: a list
        items: list[Any] = []
        while not isinstance(self.peek(), yaml.SequenceEndEvent):
            items.append(self.node(("tenants", first + len(items)), 2))
        self.next_event()
        return items

    def mapping(self, path: PathKey, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while not isinstance(self.peek(), yaml.MappingEndEvent):
            key_event = self.next_event()
            if not isinstance(key_event, yaml.ScalarEvent) or (
                key_event.tag is None and key_event.implicit[0]
                and _resolve_plain(key_event.value) != "tag:yaml.org,2002:str"
            ) or (key_event.tag is not None and not key_event.implicit[0] and not key_event.implicit[1]):
                raise self.fail(key_event, path, "mapping keys must be plain strings")
            if getattr(key_event, "anchor", None) is not None:
                raise self.fail(key_event, path, "YAML anchors (&name) are not allowed; write the value out")
            key = unicodedata.normalize("NFC", key_event.value)
            child = path + (key,)
            if key in result:
                raise self.fail(key_event, child, f"duplicate key {key!r}")
            self.key_marks[child] = (key_event.start_mark.line + 1, key_event.start_mark.column + 1)
            result[key] = self.node(child, depth + 1)
            if key == "id" and len(path) == 2 and path[0] == "tenants" and isinstance(result[key], str):
                self.tenant_ids[path[1]] = result[key]
        self.next_event()
        return result

    def scalar(self, event, path: PathKey) -> Any:
        plain, quoted = event.implicit
        if event.tag is not None and not (plain or quoted):
            raise self.fail(event, path, f"YAML tags ({event.tag}) are not allowed")
        if not plain or event.style not in (None, ""):
            return unicodedata.normalize("NFC", event.value)
        tag = _resolve_plain(event.value)
        if tag == "tag:yaml.org,2002:str":
            # YAML 1.2 reads some plain words as numbers that YAML 1.1 reads as text (1e3,
            # 0o17). Another tool could read the manifest either way, so such a value is
            # treated as a number and a text field asks for quotes.
            if _YAML12_NUMBER.fullmatch(event.value):
                return _yaml12_number(event.value)
            return unicodedata.normalize("NFC", event.value)
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark)
        try:
            return _constructor.yaml_constructors[tag](_constructor, node)
        except (ValueError, yaml.YAMLError):
            return unicodedata.normalize("NFC", event.value)

_YAML12_NUMBER = re.compile(
    r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"
)


def _yaml12_number(value: str) -> int | float:
    if value.startswith(("0o", "0x")):
        return int(value, 0)
    return float(value)


def _resolve_plain(value: str) -> str:
    # remembered: a fleet's manifest repeats its keys and most values tens of thousands of times
    tag = _PLAIN_TAGS.get(value)
    if tag is None:
        tag = _PLAIN_TAGS[value] = _resolver.resolve(ScalarNode, value, (True, False))
    return tag


_PLAIN_TAGS: dict[str, str] = {}


def load_text(text: str, source: str, *, tenants_from: int | None = None) -> Document:
    """Parse manifest text. Raises ManifestError with a located problem.

    `tenants_from` (a manifest directory's tenant file): the text holds one tenant or a list
    of them; `data` is that list, composed and marked as tenants[tenants_from], ...
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_MANIFEST_BYTES:
        raise ManifestError(Problem(Location(source), f"larger than the {MAX_MANIFEST_BYTES // (1024 * 1024)} MiB limit"))
    parser = _Parser(text)
    composer = _Composer(source, parser, by_id=tenants_from is not None)
    try:
        if tenants_from is None:
            data = composer.document()
        else:
            data = composer.document(lambda: composer.tenants(tenants_from),
                                     "the file is empty; a tenant file holds one tenant (a mapping) or a list of them")
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise ManifestError(Problem(Location(source, line, column), f"YAML syntax: {err.problem or err.context}")) from None
    except yaml.YAMLError as err:
        raise ManifestError(Problem(Location(source), f"YAML syntax: {err}")) from None
    finally:
        parser.dispose()
    return Document(source, data, composer.marks, composer.key_marks, text)


def files_sha256(digests: Mapping[str, str]) -> str:
    """The sha256 of a manifest directory: of its files' digests, one line each as `sha256sum`
    prints them (`<sha256>  <path>`), sorted by path."""
    listing = "".join(f"{sha}  {path}\n" for path, sha in sorted(digests.items()))
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def input_file_problem(path: Path) -> str | None:
    """Why `path` cannot be read as an input file, or None. The one place that decides what an
    input file argument may be (a MANIFEST may also be a manifest directory: gen.directory)."""
    if path.is_dir():
        return "is a directory"
    if not path.exists():
        return "not found"
    return None


def check_input_file(path: str | Path) -> None:
    problem = input_file_problem(Path(path))
    if problem:
        raise ManifestError(Problem(Location(str(path)), problem))


def load_file(path: str | Path) -> Document:
    """Load a manifest file, or standard input when `path` is "-"."""
    return load_bytes(read_file(path), STDIN_SOURCE if str(path) == STDIN else str(path))


def read_file(path: str | Path) -> bytes:
    """The bytes of a manifest file, or of standard input when `path` is "-", within the limit."""
    if str(path) == STDIN:
        return _read_stdin()
    path = Path(path)
    source = str(path)
    check_input_file(path)
    try:
        size = path.stat().st_size
        if size > MAX_MANIFEST_BYTES:
            raise ManifestError(Problem(Location(source), f"larger than the {MAX_MANIFEST_BYTES // (1024 * 1024)} MiB limit ({size} bytes)"))
        return path.read_bytes()
    except OSError as err:
        raise ManifestError(Problem(Location(source), f"cannot read: {err.strerror or err}")) from None


def _read_stdin() -> bytes:
    if sys.stdin is None:
        raise ManifestError(Problem(Location(STDIN_SOURCE), "cannot read: there is no standard input"))
    stream = getattr(sys.stdin, "buffer", None)
    try:
        # one byte more than the limit is enough to know the input is too large
        raw = stream.read(MAX_MANIFEST_BYTES + 1) if stream is not None else sys.stdin.read(MAX_MANIFEST_BYTES + 1).encode("utf-8")
    except OSError as err:
        raise ManifestError(Problem(Location(STDIN_SOURCE), f"cannot read: {err.strerror or err}")) from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestError(Problem(Location(STDIN_SOURCE), f"larger than the {MAX_MANIFEST_BYTES // (1024 * 1024)} MiB limit"))
    return raw


def load_bytes(raw: bytes, source: str, *, tenants_from: int | None = None) -> Document:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ManifestError(Problem(Location(source), f"not UTF-8 (byte {err.start})")) from None
    return load_text(text, source, tenants_from=tenants_from)

