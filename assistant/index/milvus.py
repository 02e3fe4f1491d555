"""The index in Milvus: one collection that every replica reads, updated in place by
document. A local file path as URI runs milvus-lite in this process; ``http://host:19530``
reaches a Milvus server or cluster (or ``milvus-lite server``).

One collection per full build, reached through an alias (the index name); a full
rebuild fills a new collection and then moves the alias. Rows:

- kind 0, one per sentence unit: its dense vector, chunk key, span, and the document key
  ``<batch>:<doc_id>`` of the update that wrote it. The first unit of each chunk also
  carries the chunk (JSON, with its Kiwi terms) and the chunk's BM25 term weights as a
  sparse vector; other units carry a placeholder that no query term matches.
- kind 1, the head (id 0): the live version, its part count, a sequence number, and the
  "stale" document keys whose rows exist but must not be seen.
- kind 2, the parts of a version's state: manifest, vocabulary with document
  frequencies, and length totals (compressed JSON, split into parts).

An incremental update marks its new keys stale, writes their rows, then commits by one
upsert of the head (new version; the replaced documents' keys stale), then deletes the
stale rows and unmarks them. A reader filters stale keys out, so a crash at any point
leaves the old or the new state visible, never a mix; the next build removes the
leftovers. Lexical scoring is BM25 computed here from the same Kiwi morphemes as the
file store (never Milvus's analyzers): term weights on the chunk side, IDF on the query
side, with statistics over the whole index kept in the version's state.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

import numpy as np
from filelock import FileLock

from ..types import Chunk
from .rows import DocRows, Update
from .search import Candidates
from .store import IndexMissing, IndexUnavailable

UNIT, HEAD, PART = 0, 1, 2
HEAD_ID = 0
PART_CHARS = 60_000  # of compressed state per part row (a VARCHAR holds 65,535)
INSERT_ROWS = 512
QUERY_KEYS = 512  # keys per "in [...]" query
PLACEHOLDER = {0: 1.0}  # the sparse value of units that do not carry their chunk's terms


def is_server(uri: str) -> bool:
    return uri.startswith(("http://", "https://", "tcp://", "grpc://"))


class MilvusStore:
    """The ``Store`` for ``ASSISTANT_INDEX_BACKEND=milvus``."""

    def __init__(self, uri: str, name: str = "assistant", token: str = "", lock_dir: Path | None = None,
                 hnsw_above: int = 1_000_000, shards: int = 1, hnsw_params: dict | None = None):
        self.uri = uri
        self.name = name
        self.token = token
        self.hnsw_above = hnsw_above
        self.shards = shards
        self.hnsw_params = hnsw_params or {"M": 16, "efConstruction": 200}
        self._loaded = False
        # Builds on one machine exclude each other by a file lock; with a server shared by
        # several machines, run builds from one place (see docs/scaling.md).
        self._lock_path = (Path(uri).with_name(Path(uri).name + ".lock") if not is_server(uri)
                           else Path(lock_dir or ".") / f".milvus-{name}.lock")

    @cached_property
    def client(self):
        try:
            from pymilvus import MilvusClient
        except ImportError as exc:
            raise IndexUnavailable("the milvus index backend needs pymilvus and milvus-lite: "
                                   "pip install pymilvus==3.0.2 milvus-lite==3.2.2") from exc
        if not is_server(self.uri):
            Path(self.uri).parent.mkdir(parents=True, exist_ok=True)
        try:
            return MilvusClient(uri=self.uri, token=self.token)
        except Exception as exc:
            raise IndexUnavailable(f"cannot reach Milvus at {self.uri} ({exc})") from exc

    def close(self) -> None:
        """Disconnect; for a milvus-lite file, also stop its in-process server, so that
        another process may open the file."""
        if "client" in self.__dict__:
            self.__dict__.pop("client").close()
            if not is_server(self.uri):
                from milvus_lite.server_manager import server_manager_instance

                server_manager_instance.release_server(self.uri)
        self._loaded = False

    @property
    def is_server(self) -> bool:
        return is_server(self.uri)

    @cached_property
    def is_lite(self) -> bool:
        """A milvus-lite file, or a ``milvus-lite server`` (not a Milvus server or cluster)."""
        return not self.is_server or self.client.get_server_version().startswith("milvus_lite")

    def lock(self, timeout: float = 600) -> FileLock:
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self._lock_path), timeout=timeout)

    # -- reading -------------------------------------------------------------------
    def head(self) -> dict | None:
        if not self.client.has_collection(self.name):
            return None
        if not self._loaded:  # a milvus-lite file opens with its collections released
            if "NotLoad" in str(self.client.get_load_state(self.name).get("state")):
                self.client.load_collection(self.name)
            if self.is_lite:
                # A milvus-lite process (a file's, or a server) killed between its flush
                # commit and its log cleanup leaves rows that the next open replays from
                # the log and also reads from the flushed file: each is returned twice
                # until the next flush.
                self.client.flush(self.name)
            self._loaded = True
        rows = self.client.query(self.name, filter=f"kind == {HEAD}", output_fields=["data"])
        return json.loads(rows[0]["data"]) if rows else None

    def current_name(self) -> str | None:
        head = self.head()
        return None if head is None else _view_name(head)

    def read_manifest(self) -> dict | None:
        head = self.head()
        return None if head is None else self._state(head)["manifest"]

    def load(self) -> "MilvusView":
        for _ in range(3):  # a commit may remove the parts just after the head was read
            head = self.head()
            if head is None:
                raise IndexMissing(f"no index {self.name!r} in Milvus at {self.uri}; build it with: python -m assistant index")
            try:
                return MilvusView(self, head, self._state(head))
            except _PartsMissing:
                time.sleep(0.05)
        raise IndexUnavailable(f"the Milvus index {self.name!r} changed while loading; try again")

    def open_current(self) -> "MilvusView | None":
        """The current version, for a build to update (call under ``lock()``): what an
        interrupted update left behind, invisible to readers, is removed first."""
        head = self.head()
        if head is None:
            return None
        self.client.delete(self.name, filter=f'kind == {PART} and doc_key != "{head["version"]}"')
        if head["stale"]:
            self._delete_keys(self.name, head["stale"])
            self._write_head(self.name, {**head, "stale": [], "seq": head["seq"] + 1}, self._width(self.name))
        return self.load()

    def _state(self, head: dict) -> dict:
        rows = self.client.query(self.name, filter=f'kind == {PART} and doc_key == "{head["version"]}"',
                                 output_fields=["data", "start"])
        if len(rows) != head["parts"]:
            raise _PartsMissing()
        blob = "".join(r["data"] for r in sorted(rows, key=lambda r: r["start"]))
        return json.loads(zlib.decompress(base64.b64decode(blob)))

    # -- writing -------------------------------------------------------------------
    def apply(self, update: Update, previous: "MilvusView | None") -> str:
        """Make ``update`` the live version (see the module docstring). Call under ``lock()``."""
        version = _stamp()
        if update.full or previous is None or not previous.manifest["counts"]["units"]:
            return self._rebuild(update, version)  # an empty index has no vector width yet
        head, state = previous.head, previous.state
        old_docs = state["manifest"]["documents"]
        collection = self.name
        new_keys = {doc_id: f"{version}:{doc_id}" for doc_id in update.fresh}
        gone = {d: old_docs[d]["key"] for d in old_docs if d in update.fresh or d not in update.order}
        seq, width = head["seq"], self._width(collection)
        self._write_head(collection, {**head, "stale": sorted(new_keys.values()), "seq": seq + 1}, width)
        stats = Stats.of(state)
        stats.remove(self._terms_of(collection, list(gone.values())))
        for rows in update.fresh.values():
            stats.add(rows.terms)
        for doc_id, rows in update.fresh.items():
            self._insert_doc(collection, new_keys[doc_id], rows, stats)
        self._finish_manifest(update, new_keys)
        parts = self._write_state(collection, version, update.manifest, stats, width)
        self._write_head(collection, {"version": version, "parts": parts, "stale": sorted(gone.values()), "seq": seq + 2}, width)
        self._delete_keys(collection, list(gone.values()))
        self.client.delete(collection, filter=f'kind == {PART} and doc_key != "{version}"')
        self._write_head(collection, {"version": version, "parts": parts, "stale": [], "seq": seq + 3}, width)
        return version

    def _rebuild(self, update: Update, version: str) -> str:
        """Fill a new collection, then move the alias to it; the one it replaced stays
        (readers may still be on it) until the next full build."""
        collection = f"{self.name}_{version.replace('-', '_')}"
        units = sum(len(r.units) for r in update.fresh.values())
        dim = next((r.vectors.shape[1] for r in update.fresh.values() if r.vectors is not None and len(r.vectors)), 1)
        self._create(collection, dim, hnsw=units > self.hnsw_above)
        stats = Stats()
        for rows in update.fresh.values():
            stats.add(rows.terms)
        keys = {doc_id: f"{version}:{doc_id}" for doc_id in update.fresh}
        for doc_id in update.order:
            self._insert_doc(collection, keys[doc_id], update.fresh[doc_id], stats)
        self._finish_manifest(update, keys)
        parts = self._write_state(collection, version, update.manifest, stats, dim)
        self._write_head(collection, {"version": version, "parts": parts, "stale": [], "seq": 0}, dim)
        self.client.flush(collection)
        c = self.client
        previous = c.describe_alias(self.name)["collection_name"] if self._has_alias() else None
        if previous is None and c.has_collection(self.name):
            raise IndexUnavailable(f"a Milvus collection named {self.name!r} is in the way of the index alias")
        (c.alter_alias if previous else c.create_alias)(collection, self.name)
        ours = re.compile(rf"{re.escape(self.name)}_\d{{8}}_\d{{6}}_\d{{9}}")  # this index's full builds only
        for old in c.list_collections():
            if ours.fullmatch(old) and old not in (collection, previous):
                c.drop_collection(old)
        return version

    def _has_alias(self) -> bool:
        try:
            return self.name in self.client.list_aliases()["aliases"]
        except Exception:
            return False

    def _create(self, collection: str, dim: int, hnsw: bool) -> None:
        from pymilvus import DataType, MilvusClient

        s = MilvusClient.create_schema(auto_id=False)
        s.add_field("id", DataType.INT64, is_primary=True)
        s.add_field("kind", DataType.INT8)
        s.add_field("doc_key", DataType.VARCHAR, max_length=1024)
        s.add_field("chunk_key", DataType.VARCHAR, max_length=1100)
        s.add_field("first", DataType.BOOL)
        s.add_field("start", DataType.INT64)
        s.add_field("end", DataType.INT64)
        s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        s.add_field("lexical", DataType.SPARSE_FLOAT_VECTOR)
        s.add_field("data", DataType.VARCHAR, max_length=65535)
        self.client.create_collection(collection, schema=s, num_shards=self.shards)
        ip = self.client.prepare_index_params()
        if hnsw:
            ip.add_index(field_name="vector", index_type="HNSW", metric_type="IP", params=self.hnsw_params)
        else:
            ip.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
        ip.add_index(field_name="lexical", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
        ip.add_index(field_name="kind", index_type="INVERTED")
        ip.add_index(field_name="doc_key", index_type="INVERTED")
        ip.add_index(field_name="chunk_key", index_type="INVERTED")
        self.client.create_index(collection, ip)
        self.client.load_collection(collection)

    def _insert_doc(self, collection: str, key: str, rows: DocRows, stats: "Stats") -> None:
        batch, seen = [], set()
        for i, ((s, e), row) in enumerate(zip(rows.units, rows.unit_chunk)):
            first = row not in seen
            seen.add(row)
            chunk = rows.chunks[row]
            batch.append({
                "id": _row_id(key, i), "kind": UNIT, "doc_key": key, "chunk_key": f"{key}#{row}", "first": first,
                "start": s, "end": e, "vector": rows.vectors[i].tolist(),
                "lexical": (stats.weights(rows.terms[row]) or PLACEHOLDER) if first else PLACEHOLDER,
                "data": json.dumps({**chunk.to_dict(), "terms": rows.terms[row]}, ensure_ascii=False) if first else "",
            })
            if len(batch) >= INSERT_ROWS:
                self.client.insert(collection, batch)
                batch = []
        if batch:
            self.client.insert(collection, batch)

    def _finish_manifest(self, update: Update, keys: dict[str, str]) -> None:
        documents = update.manifest["documents"]
        for doc_id in update.order:
            if doc_id in update.fresh:
                documents[doc_id] = {**documents[doc_id], "key": keys[doc_id], "units": len(update.fresh[doc_id].units)}
        update.manifest["counts"] = {
            "documents": len(update.order),
            "chunks": sum(documents[d]["chunks"] for d in update.order),
            "units": sum(documents[d]["units"] for d in update.order),
        }

    def _write_state(self, collection: str, version: str, manifest: dict, stats: "Stats", width: int) -> int:
        blob = base64.b64encode(zlib.compress(json.dumps({"manifest": manifest, **stats.to_dict()}, ensure_ascii=False).encode(), 6)).decode()
        pieces = [blob[i : i + PART_CHARS] for i in range(0, len(blob), PART_CHARS)] or [""]
        self.client.insert(collection, [_meta_row(_row_id(f"part:{version}", i), PART, version, i, piece, width)
                                        for i, piece in enumerate(pieces)])
        return len(pieces)

    def _write_head(self, collection: str, head: dict, width: int) -> None:
        self.client.upsert(collection, [_meta_row(HEAD_ID, HEAD, "", 0, json.dumps(head), width)])

    def _width(self, collection: str) -> int:
        """The collection's vector width (head and state rows carry a zero vector of it)."""
        fields = self.client.describe_collection(collection)["fields"]
        return int(next(f["params"]["dim"] for f in fields if f["name"] == "vector"))

    def _delete_keys(self, collection: str, keys: list[str]) -> None:
        for i in range(0, len(keys), QUERY_KEYS):
            self.client.delete(collection, filter=f"kind == {UNIT} and doc_key in {_list(keys[i:i + QUERY_KEYS])}")

    def _terms_of(self, collection: str, keys: list[str]) -> list[list[str]]:
        out = []
        for i in range(0, len(keys), QUERY_KEYS):
            rows = self.client.query(collection, filter=f"kind == {UNIT} and first == true and doc_key in {_list(keys[i:i + QUERY_KEYS])}",
                                     output_fields=["data"])
            out += [json.loads(r["data"])["terms"] for r in rows]
        return out


class MilvusView:
    """One version of a Milvus index, as retrieval reads it."""

    def __init__(self, store: MilvusStore, head: dict, state: dict):
        self.store = store
        self.head = head
        self.state = state
        self.manifest = state["manifest"]
        self.name = _view_name(head)
        self.stats = Stats.of(state)
        stale = f" and doc_key not in {_list(head['stale'])}" if head["stale"] else ""
        self._units = f"kind == {UNIT}{stale}"

    @property
    def size(self) -> int:
        return self.stats.chunks

    @property
    def df(self) -> dict[str, int]:
        return self.stats.df

    def candidates(self, terms: list[str], qvec: np.ndarray, n: int) -> Candidates:
        c, name = self.store.client, self.store.name
        best: dict[str, tuple[float, int, int]] = {}
        # The top units, grouped here by chunk: the first (best) unit of a chunk in the list
        # is its best sentence. (Milvus's group_by gives the same and took 4x as long.)
        hits = c.search(name, data=[qvec.astype(np.float32).tolist()], anns_field="vector", limit=4 * n,
                        filter=self._units, output_fields=["chunk_key", "start", "end"])
        for h in hits[0]:
            e = h["entity"]
            best.setdefault(e["chunk_key"], (float(h["distance"]), int(e["start"]), int(e["end"])))
        query = self.stats.query(terms)
        lexical_keys = []
        if query:
            hits = c.search(name, data=[query], anns_field="lexical", limit=n,
                            filter=f"{self._units} and first == true", output_fields=["chunk_key"])
            lexical_keys = [h["entity"]["chunk_key"] for h in hits[0]]
        keys = sorted(set(best) | set(lexical_keys), key=self._position)  # as the file store orders ties
        for key, units in self._units_of([k for k in keys if k not in best]).items():
            sims = np.array([u["vector"] for u in units], dtype=np.float32) @ qvec
            top = int(np.argmax(sims))
            best[key] = (float(sims[top]), int(units[top]["start"]), int(units[top]["end"]))
        chunks, lexical = {}, {}
        for key, row in self._first_units(keys).items():
            chunks[key], chunk_terms = _chunk(row["data"])
            # Scored again with today's statistics: the stored weights used the average
            # length at the time the chunk was written, which later updates shift.
            weights = self.stats.weights(chunk_terms)
            lexical[key] = sum(w * weights.get(dim, 0.0) for dim, w in query.items())
        return Candidates(
            [chunks[k] for k in keys], [best[k][1:] for k in keys],
            np.array([best[k][0] for k in keys], dtype=np.float32), np.array([lexical[k] for k in keys], dtype=np.float32),
        )

    def _position(self, chunk_key: str) -> tuple[int, int]:
        doc_key, row = chunk_key.rsplit("#", 1)
        return self._doc_order.get(doc_key.split(":", 1)[1], len(self._doc_order)), int(row)

    @cached_property
    def _doc_order(self) -> dict[str, int]:
        return {doc_id: i for i, doc_id in enumerate(self.manifest["documents"])}

    def _units_of(self, keys: list[str]) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for i in range(0, len(keys), QUERY_KEYS):
            for r in self.store.client.query(self.store.name, filter=f"{self._units} and chunk_key in {_list(keys[i:i + QUERY_KEYS])}",
                                             output_fields=["chunk_key", "start", "end", "vector"]):
                out.setdefault(r["chunk_key"], []).append(r)
        return out

    def _first_units(self, keys: list[str]) -> dict[str, dict]:
        out = {}
        for i in range(0, len(keys), QUERY_KEYS):
            for r in self.store.client.query(self.store.name, filter=f"{self._units} and first == true and chunk_key in {_list(keys[i:i + QUERY_KEYS])}",
                                             output_fields=["chunk_key", "data"]):
                out[r["chunk_key"]] = r
        return out

    def unit_passages(self) -> Iterator[tuple[Chunk, int, int]]:
        for doc in self.manifest["documents"].values():  # by document: a query returns at most 16,384 rows
            rows = self.store.client.query(self.store.name, filter=f'{self._units} and doc_key == {json.dumps(doc["key"])}',
                                           output_fields=["chunk_key", "first", "start", "end", "data"])
            chunks = {r["chunk_key"]: _chunk(r["data"])[0] for r in rows if r["first"]}
            for r in sorted(rows, key=lambda r: (self._position(r["chunk_key"]), r["start"])):
                yield chunks[r["chunk_key"]], int(r["start"]), int(r["end"])

    def count_units(self) -> int:
        rows = self.store.client.query(self.store.name, filter=self._units, output_fields=["count(*)"])
        return int(rows[0]["count(*)"])


class Stats:
    """Vocabulary (term -> sparse dimension), document frequencies and length totals of
    the live chunks: what BM25 needs to be the same as over the whole index at once."""

    def __init__(self, vocab: dict | None = None, df: dict | None = None, chunks: int = 0, length: int = 0,
                 k1: float = 1.2, b: float = 0.75):
        self.vocab = vocab or {}
        self.df = Counter(df or {})
        self.chunks, self.length = chunks, length
        self.k1, self.b = k1, b

    @classmethod
    def of(cls, state: dict) -> "Stats":
        lex = state["manifest"]["lexical"]
        return cls(state["vocab"], state["df"], state["chunks"], state["length"], lex["k1"], lex["b"])

    def to_dict(self) -> dict:
        return {"vocab": self.vocab, "df": {t: n for t, n in self.df.items() if n > 0}, "chunks": self.chunks, "length": self.length}

    def add(self, docs_terms: list[list[str]]) -> None:
        for terms in docs_terms:
            self.chunks += 1
            self.length += max(1, len(terms))  # an empty chunk counts one token, as in bm25s
            for t in set(terms):
                self.df[t] += 1
                self.vocab.setdefault(t, len(self.vocab) + 1)  # 0 is the placeholder

    def remove(self, docs_terms: list[list[str]]) -> None:
        for terms in docs_terms:
            self.chunks -= 1
            self.length -= max(1, len(terms))
            self.df.subtract(set(terms))

    def weights(self, terms: list[str]) -> dict[int, float]:
        """A chunk's BM25 term weights (bm25s "lucene": tf / (tf + k1 (1 - b + b dl / avgdl)))."""
        dl, avg = max(1, len(terms)), self.length / max(1, self.chunks)
        norm = self.k1 * (1 - self.b + self.b * dl / avg)
        return {self.vocab[t]: tf / (tf + norm) for t, tf in Counter(terms).items() if t in self.vocab}

    def query(self, terms: list[str]) -> dict[int, float]:
        """IDF of each known query term, times its count in the query."""
        n, out = self.chunks, {}
        for t, count in Counter(terms).items():
            df = self.df.get(t, 0)
            if df > 0:
                out[self.vocab[t]] = count * math.log(1 + (n - df + 0.5) / (df + 0.5))
        return out


class _PartsMissing(Exception):
    pass


def _meta_row(row_id: int, kind: int, doc_key: str, position: int, data: str, width: int) -> dict:
    """A head or state part row: no terms, a zero vector (searches filter them out by kind)."""
    return {"id": row_id, "kind": kind, "doc_key": doc_key, "chunk_key": "", "first": False, "start": position,
            "end": position, "vector": [0.0] * width, "lexical": PLACEHOLDER, "data": data}


def _view_name(head: dict) -> str:
    return f"{head['version']}.{head['seq']}"


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + f"-{time.time_ns() % 1_000_000_000:09d}"


def _row_id(key: str, i: int) -> int:
    """A row id from its document key and position; 0 is the head's."""
    digest = hashlib.blake2b(f"{key}\0{i}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 1) or 1


def _list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


def _chunk(data: str) -> tuple[Chunk, list[str]]:
    rec = json.loads(data)
    terms = rec.pop("terms")
    return Chunk(**rec), terms
