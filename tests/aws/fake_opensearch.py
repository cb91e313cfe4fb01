"""An in-memory OpenSearch data plane: the test double for the one AWS service moto does not serve.

It plugs in under opensearch-py as a `Connection` class, so the real client, its bulk helper, serialization
and error mapping all run; only the HTTP round trip is replaced. It implements the subset of the REST API and
query DSL that `ragline.adapters.aws.opensearch_index` sends: index create/mapping/settings, `_bulk` (the four
actions OpenSearch knows, `create` refusing an existing id, strict mapping, vector dimension checks),
`_search` with `knn` (efficient filter; lucene cosinesimil/innerproduct scores) or `bool` + `match` (BM25 with
an English-like analyzer), `_count`, `_delete_by_query`, `_update_by_query` (the one painless script the
adapter sends: set `source`), `_mget`, and bool/term/terms/wildcard/range/ids filters, and the security
plugin's `roles` / `rolesmapping` PUT and DELETE. Like OpenSearch, it is near-real-time: a document written
by `_bulk` is seen by searches, counts and by-query operations only after a refresh (`refresh=true` or
`wait_for` on the write, or a later request's `refresh=true`); `_mget` reads in real time. Faults can be
injected: an HTTP status for the next N requests whose path contains a given string, or refusal of given
document ids in `_bulk`. Every request is recorded, so a test can count what one call really sent.

`fake_client` builds the client with the production builder
(`ragline.adapters.aws.clients.opensearch_client`): its retry settings are the ones under test.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from opensearchpy import Connection

from ragline.text import LUCENE_ENGLISH_STOPWORDS as STOP_WORDS

_WORD = re.compile(r"\w+")


def analyze(text: str) -> list[str]:
    terms = [word for word in _WORD.findall(text.lower()) if word not in STOP_WORDS]
    return [term[:-1] if len(term) > 3 and term.endswith("s") and not term.endswith("ss") else term for term in terms]


@dataclass
class Fault:
    status: int
    times: int
    path_contains: str


@dataclass
class FakeIndex:
    mappings: dict[str, Any]
    settings: dict[str, Any]
    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    unrefreshed: set[str] = field(default_factory=set)  # written, not yet seen by searches

    def searchable(self) -> dict[str, dict[str, Any]]:
        """The documents a search sees: those written before the last refresh. (The test never waits out
        OpenSearch's 1 s refresh interval, so a write nobody refreshed stays unseen.)"""
        return {doc_id: doc for doc_id, doc in self.docs.items() if doc_id not in self.unrefreshed}

    def refresh(self) -> None:
        self.unrefreshed.clear()


@dataclass
class FakeOpenSearch:
    indices: dict[str, FakeIndex] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    refused_ids: set[str] = field(default_factory=set)
    requests: list[tuple[str, str]] = field(default_factory=list)
    security: dict[str, dict[str, Any]] = field(default_factory=dict)  # "roles/<name>" -> body

    def connection_class(self) -> type[Connection]:
        """An opensearch-py Connection class whose every request this fake answers."""
        fake = self

        class BoundConnection(FakeOpenSearchConnection):
            def __init__(self, **kwargs: Any) -> None:
                super().__init__(fake=fake, **kwargs)

        return BoundConnection

    def count_requests(self, path_contains: str) -> int:
        return sum(1 for _, path in self.requests if path_contains in path)

    def fail(self, status: int, *, times: int = 1, path_contains: str = "") -> None:
        self.faults.append(Fault(status, times, path_contains))

    # --- dispatch -------------------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict, body: Any) -> tuple[int, Any]:
        self.requests.append((method, path))
        for fault in self.faults:
            if fault.times and fault.path_contains in path:
                fault.times -= 1
                return fault.status, {"error": {"type": "fault_injected", "reason": f"HTTP {fault.status}"}}
        parts = [part for part in path.split("/") if part]
        if parts[:3] == ["_plugins", "_security", "api"]:
            return self.security_api(method, "/".join(parts[3:]), body)
        if parts and parts[-1] in ("_bulk", "_mget") and len(parts) <= 2:
            index = parts[0] if len(parts) == 2 else None
            return getattr(self, parts[-1][1:])(index, params, body)
        name, action = parts[0], (parts[1] if len(parts) > 1 else None)
        if action is None:
            return {"HEAD": self.exists, "PUT": self.create, "GET": self.get_index}[method](name, body)
        if name not in self.indices:
            return 404, {"error": {"type": "index_not_found_exception", "reason": f"no such index [{name}]"}}
        by_query = {"_delete_by_query": self.delete_by_query, "_update_by_query": self.update_by_query}
        if action in by_query:  # these take `refresh`
            return by_query[action](self.indices[name], method, body, params)
        handler = {
            "_mapping": self.mapping,
            "_settings": self.put_settings,
            "_search": self.search,
            "_count": self.count,
        }
        return handler[action](self.indices[name], method, body)

    def security_api(self, method: str, name: str, body: Any) -> tuple[int, Any]:
        if method == "PUT":
            self.security[name] = body
            return 200, {"status": "OK"}
        if method == "DELETE":
            found = self.security.pop(name, None)
            return (200, {"status": "OK"}) if found is not None else (404, {"status": "NOT_FOUND"})
        return 405, {"error": f"{method} {name}"}

    # --- indices --------------------------------------------------------------------------

    def exists(self, name: str, _: Any) -> tuple[int, Any]:
        return (200, "") if name in self.indices else (404, "")

    def create(self, name: str, body: dict) -> tuple[int, Any]:
        if name in self.indices:
            return 400, {"error": {"type": "resource_already_exists_exception", "reason": name}}
        self.indices[name] = FakeIndex(mappings=body["mappings"], settings=body.get("settings", {}))
        return 200, {"acknowledged": True, "index": name}

    def get_index(self, name: str, _: Any) -> tuple[int, Any]:
        index = self.indices[name]
        return 200, {name: {"mappings": index.mappings, "settings": index.settings}}

    def mapping(self, index: FakeIndex, method: str, body: Any) -> tuple[int, Any]:
        name = next(key for key, value in self.indices.items() if value is index)
        if method == "GET":
            return 200, {name: {"mappings": index.mappings}}
        index.mappings["properties"].update(body["properties"])
        return 200, {"acknowledged": True}

    def put_settings(self, index: FakeIndex, method: str, body: Any) -> tuple[int, Any]:
        index.settings.setdefault("index", {}).update(body.get("index", {}))
        return 200, {"acknowledged": True}

    # --- documents ------------------------------------------------------------------------

    # The bulk actions OpenSearch knows; `delete` alone has no source line after it.
    BULK_ACTIONS: ClassVar[tuple[str, ...]] = ("create", "delete", "index", "update")

    # `refresh` as OpenSearch takes it: an empty value means true; any other value is refused.
    REFRESH_VALUES: ClassVar[tuple[str, ...]] = ("true", "false", "wait_for", "")

    def bulk(self, default_index: str | None, params: dict, body: Any) -> tuple[int, Any]:
        refresh = _param(params, "refresh", "false")
        if refresh not in self.REFRESH_VALUES:
            return 400, {"error": {"type": "illegal_argument_exception", "reason": f"unknown refresh [{refresh}]"}}
        lines = iter([json.loads(line) for line in body.decode().splitlines() if line.strip()])
        items = []
        for number, action in enumerate(lines, start=1):
            ((op, meta),) = action.items()
            if op not in self.BULK_ACTIONS:  # OpenSearch refuses the whole request
                reason = f"Malformed action/metadata line [{number}], expected one of {list(self.BULK_ACTIONS)}"
                return 400, {"error": {"type": "illegal_argument_exception", "reason": f"{reason} but found [{op}]"}}
            name = meta.get("_index", default_index)
            source = None if op == "delete" else next(lines)
            result = self._bulk_item(op, name, meta["_id"], source)
            items.append({op: {"_index": name, "_id": meta["_id"], **result}})
            if name in self.indices and result["status"] < 300:
                self.indices[name].unrefreshed.add(meta["_id"])
        if refresh != "false":  # `wait_for` returns once a refresh has made the writes visible
            for index in self.indices.values():
                index.refresh()
        return 200, {"took": 1, "errors": any(item[next(iter(item))].get("error") for item in items), "items": items}

    def _bulk_item(self, op: str, name: str, doc_id: str, source: dict | None) -> dict[str, Any]:
        """One action's result as OpenSearch reports it: `create` refuses an existing id, `update` a missing one."""
        if name not in self.indices:
            return {"status": 404, "error": {"type": "index_not_found_exception", "reason": name}}
        docs = self.indices[name].docs
        if op == "create" and doc_id in docs:
            return {"status": 409, "error": {"type": "version_conflict_engine_exception", "reason": doc_id}}
        if op in ("update", "delete") and doc_id not in docs:
            if op == "delete":
                return {"status": 404, "result": "not_found"}
            return {"status": 404, "error": {"type": "document_missing_exception", "reason": doc_id}}
        if op == "delete":
            del docs[doc_id]
            return {"status": 200, "result": "deleted"}
        if op == "update":
            return self._index_document(name, doc_id, {**docs[doc_id], **source["doc"]})  # type: ignore[index]
        return self._index_document(name, doc_id, source)  # type: ignore[arg-type]

    def _index_document(self, name: str, doc_id: str, source: dict) -> dict[str, Any]:
        if doc_id in self.refused_ids:
            return {"status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "queue full"}}
        index = self.indices.get(name)
        if index is None:
            return {"status": 404, "error": {"type": "index_not_found_exception", "reason": name}}
        properties = index.mappings["properties"]
        unknown = sorted(set(source) - set(properties))
        if unknown and index.mappings.get("dynamic") == "strict":
            return {"status": 400, "error": {"type": "strict_dynamic_mapping_exception", "reason": str(unknown)}}
        dimension = properties["vector"]["dimension"]
        if len(source.get("vector", [])) != dimension:
            return {"status": 400, "error": {"type": "mapper_parsing_exception", "reason": "vector dimension"}}
        result = "updated" if doc_id in index.docs else "created"
        index.docs[doc_id] = source
        return {"status": 201 if result == "created" else 200, "result": result}

    def mget(self, default_index: str | None, params: dict, body: Any) -> tuple[int, Any]:
        index = self.indices[default_index]
        wanted = _param(params, "_source_includes")
        includes = wanted.split(",") if wanted else None
        docs = []
        for doc_id in body["ids"]:
            if doc_id in index.docs:
                source = index.docs[doc_id]
                kept = {key: value for key, value in source.items() if includes is None or key in includes}
                docs.append({"_index": default_index, "_id": doc_id, "found": True, "_source": kept})
            else:
                docs.append({"_index": default_index, "_id": doc_id, "found": False})
        return 200, {"docs": docs}

    def count(self, index: FakeIndex, method: str, body: Any) -> tuple[int, Any]:
        query = (body or {}).get("query", {"match_all": {}})
        return 200, {"count": sum(1 for doc_id, doc in index.searchable().items() if matches(query, doc_id, doc))}

    def delete_by_query(self, index: FakeIndex, method: str, body: Any, params: dict) -> tuple[int, Any]:
        doomed = [doc_id for doc_id, doc in index.searchable().items() if matches(body["query"], doc_id, doc)]
        for doc_id in doomed:
            del index.docs[doc_id]
        _refresh_if_asked(index, params)
        return 200, {"deleted": len(doomed), "failures": []}

    # Scripts this double runs, by their exact source: anything else is refused as OpenSearch would
    # refuse a script that does not compile, so a changed script fails here rather than passing.
    SCRIPTS: ClassVar[dict[str, Callable[[dict, dict], None]]] = {
        "ctx._source.source = params.to": lambda doc, params: doc.__setitem__("source", params["to"]),
    }

    def update_by_query(self, index: FakeIndex, method: str, body: Any, params: dict) -> tuple[int, Any]:
        script = body["script"]
        run = self.SCRIPTS.get(script["source"]) if script.get("lang", "painless") == "painless" else None
        if run is None:
            return 400, {"error": {"type": "script_exception", "reason": f"compile error: {script['source']!r}"}}
        updated = [doc_id for doc_id, doc in index.searchable().items() if matches(body["query"], doc_id, doc)]
        for doc_id in updated:
            run(index.docs[doc_id], script.get("params", {}))
        _refresh_if_asked(index, params)
        return 200, {"updated": len(updated), "failures": []}

    # --- search ---------------------------------------------------------------------------

    def search(self, index: FakeIndex, method: str, body: Any) -> tuple[int, Any]:
        query, size = body["query"], body.get("size", 10)
        scored = self._knn(index, query["knn"]) if "knn" in query else self._bool_match(index, query["bool"])
        scored.sort(key=lambda item: (-item[1], item[0]))
        excludes = set(body.get("_source", {}).get("excludes", []))
        hits = [
            {
                "_id": doc_id,
                "_score": score,
                "_source": {k: v for k, v in index.docs[doc_id].items() if k not in excludes},
            }
            for doc_id, score in scored[:size]
        ]
        return 200, {"hits": {"total": {"value": len(scored), "relation": "eq"}, "hits": hits}}

    def _knn(self, index: FakeIndex, knn: dict) -> list[tuple[str, float]]:
        ((field_name, spec),) = knn.items()
        space = index.mappings["properties"][field_name]["method"]["space_type"]
        query = spec["vector"]
        scored = []
        for doc_id, doc in index.searchable().items():
            if "filter" in spec and not matches(spec["filter"], doc_id, doc):
                continue
            dot = sum(a * b for a, b in zip(query, doc[field_name], strict=True))
            norm = math.sqrt(sum(a * a for a in query)) * math.sqrt(sum(b * b for b in doc[field_name]))
            scored.append((doc_id, (1 + dot / norm) / 2 if space == "cosinesimil" else _inner_product_score(dot)))
        scored.sort(key=lambda item: -item[1])
        return scored[: spec["k"]]

    def _bool_match(self, index: FakeIndex, query: dict) -> list[tuple[str, float]]:
        (match,) = query["must"]
        ((field_name, spec),) = match["match"].items()
        terms = analyze(spec["query"])
        # The filters and exclusions of the bool query, scored by its one `match`.
        narrowing = {"bool": {"filter": query.get("filter", []), "must_not": query.get("must_not", [])}}
        searchable = index.searchable()
        candidates = {doc_id: doc for doc_id, doc in searchable.items() if matches(narrowing, doc_id, doc)}
        return bm25(terms, {doc_id: analyze(doc[field_name]) for doc_id, doc in searchable.items()}, candidates)


def _refresh_if_asked(index: FakeIndex, params: dict) -> None:
    if _param(params, "refresh", "false").lower() in ("true", ""):
        index.refresh()


def _param(params: dict, name: str, default: str | None = None) -> str | None:
    """A query-string parameter as text: opensearch-py hands some over as bytes."""
    value = params.get(name, default)
    if isinstance(value, bytes):
        return value.decode()
    return None if value is None else str(value)


def _inner_product_score(dot: float) -> float:
    """As lucene and faiss translate an inner product into a positive score."""
    return 1 + dot if dot >= 0 else 1 / (1 - dot)


def bm25(terms: list[str], corpus: dict[str, list[str]], candidates: dict) -> list[tuple[str, float]]:
    if not terms or not corpus:
        return []
    average = sum(len(tokens) for tokens in corpus.values()) / len(corpus)
    frequency = Counter(term for tokens in corpus.values() for term in set(tokens))
    scored = []
    for doc_id in candidates:
        counts, length = Counter(corpus[doc_id]), len(corpus[doc_id])
        score = 0.0
        for term in set(terms):
            if counts[term]:
                idf = math.log(1 + (len(corpus) - frequency[term] + 0.5) / (frequency[term] + 0.5))
                score += idf * counts[term] * 2.2 / (counts[term] + 1.2 * (1 - 0.75 + 0.75 * length / average))
        if score > 0:
            scored.append((doc_id, score))
    return scored


def _values(doc: dict, field_name: str) -> list[Any]:
    value = doc.get(field_name)
    return value if isinstance(value, list) else ([] if value is None else [value])


def _wildcard_regex(pattern: str) -> str:
    """OpenSearch's wildcard syntax: `*` any characters, `?` one, a backslash makes the next one literal."""
    parts, characters = [], iter(pattern)
    for character in characters:
        if character == "\\":
            parts.append(re.escape(next(characters, "\\")))
        elif character == "*":
            parts.append(".*")
        elif character == "?":
            parts.append(".")
        else:
            parts.append(re.escape(character))
    return "".join(parts)


def matches(query: dict, doc_id: str, doc: dict) -> bool:
    ((kind, spec),) = query.items()
    if kind == "match_all":
        return True
    if kind == "ids":
        return doc_id in spec["values"]
    if kind == "bool":
        ok = all(matches(clause, doc_id, doc) for clause in spec.get("filter", []) + spec.get("must", []))
        ok = ok and not any(matches(clause, doc_id, doc) for clause in spec.get("must_not", []))
        if spec.get("should"):
            needed = int(spec.get("minimum_should_match", 1))
            ok = ok and sum(matches(clause, doc_id, doc) for clause in spec["should"]) >= needed
        return ok
    ((field_name, condition),) = spec.items()
    values = _values(doc, field_name)
    if kind == "term":
        return condition in values
    if kind == "terms":
        return any(value in condition for value in values)
    if kind == "wildcard":
        flags = re.IGNORECASE if condition.get("case_insensitive") else 0
        pattern = re.compile(_wildcard_regex(condition["value"]), flags)
        return any(pattern.fullmatch(value) for value in values)
    if kind == "prefix":
        return any(isinstance(value, str) and value.startswith(condition) for value in values)
    if kind == "range":
        bounds = {
            "gte": lambda v, b: v >= b,
            "lte": lambda v, b: v <= b,
            "gt": lambda v, b: v > b,
            "lt": lambda v, b: v < b,
        }
        return any(all(bounds[op](value, bound) for op, bound in condition.items()) for value in values)
    raise NotImplementedError(f"the fake OpenSearch has no {kind} query")


class FakeOpenSearchConnection(Connection):
    """Routes opensearch-py's requests to a `FakeOpenSearch` given as `fake=` to the client."""

    def __init__(self, fake: FakeOpenSearch, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fake = fake

    def perform_request(self, method, url, params=None, body=None, timeout=None, ignore=(), headers=None):
        path = url.split("?", 1)[0]
        if isinstance(body, bytes) and not path.endswith("_bulk"):
            body = json.loads(body)
        elif isinstance(body, str):
            body = body.encode() if path.endswith("_bulk") else json.loads(body)
        status, payload = self._fake.handle(method, path, dict(params or {}), body)
        raw = payload if isinstance(payload, str) else json.dumps(payload)
        if not (200 <= status < 300) and status not in ignore:
            self._raise_error(status, raw, "application/json")
        return status, {"content-type": "application/json"}, raw


def fake_client(fake: FakeOpenSearch, endpoint: str = "https://search.test") -> Any:
    """A client from the production builder (signing, retries off), answered by `fake`."""
    from unittest import mock

    from ragline.adapters.aws import clients
    from ragline.config import AwsSettings, IndexSettings

    index = IndexSettings(backend="opensearch", opensearch_endpoint=endpoint)
    with mock.patch.object(clients, "http_connection_class", fake.connection_class):
        return clients.opensearch_client(index, AwsSettings(region="us-east-1"))
