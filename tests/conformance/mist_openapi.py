"""Validators for Juniper Mist's official OpenAPI description (third_party/mist-api/).

Loads mist-pcaps.openapi.json, rewrites OAS 3.0's `nullable: true` into JSON Schema 2020-12
(`{type: X, nullable: true}` -> `{type: [X, "null"]}`), applies the small errata listed in
ERRATA (each one documented in docs/mist-api-conformance.md) and validates instances against a
component schema or against the response schema of a path/method/status with a real JSON Schema
validator (Debian's python3-jsonschema, Draft 2020-12). `$ref`s resolve inside `components`.

    api = load()                                   # finds <repo>/third_party/mist-api/
    api.validate(body, "capture_site")             # -> list of error strings, [] when valid
    api.validate(body, "capture_radiotap", strict=True)   # + additionalProperties: false
    api.validate_response("/api/v1/sites/{site_id}/pcaps", "get", 200, body)

A missing description raises MissingSpecError: callers in CI must fail, never skip.
"""

import copy
import json
import os

import jsonschema

SPEC_FILE = "mist-pcaps.openapi.json"
_DRAFT = "https://json-schema.org/draft/2020-12/schema"


class MissingSpecError(RuntimeError):
    pass


def _set_status_property(schemas, prop, patch):
    schemas["response_pcap_status"]["properties"][prop] = patch


# Each erratum: (id, what it changes, why). Applied after the nullable rewrite; only these
# places are loosened, everything else is validated as published.
ERRATA = [
    ("status-format",
     "response_pcap_status.format accepts pcap and stream (and tzsp)",
     "The status reuses the Mist Edge enum capture_mxedge_format (stream, tzsp), while the AP "
     "capture types it reports (capture_radiotap_format, capture_wired_format, ...) take pcap "
     "and stream and default to pcap.",
     lambda s: _set_status_property(s, "format", {
         "type": "string", "enum": ["pcap", "stream", "tzsp"],
         "description": "erratum status-format (was capture_mxedge_format)"})),
    ("status-type",
     "response_pcap_status.type accepts scan and switch",
     "pcap_type lacks scan and switch although capture_site accepts capture_scan and "
     "capture_switch, so a status of such a capture could not validate.",
     lambda s: _set_status_property(s, "type", {
         "type": "string",
         "enum": s["pcap_type"]["enum"] + ["scan", "switch"],
         "description": "erratum status-type (was pcap_type)"})),
    ("search-next-null",
     "response_pcap_search.next may be null",
     "next is a non-nullable string, yet the last page has no next page; the schema already "
     "allows it to be absent (the simulator omits it), and readers must also cope with null.",
     lambda s: s["response_pcap_search"]["properties"].__setitem__(
         "next", {"type": ["string", "null"],
                  "description": "erratum search-next-null"})),
]


def _rewrite_nullable(node):
    """OAS 3.0 `nullable: true` -> JSON Schema null type, recursively, in place."""
    if isinstance(node, list):
        for item in node:
            _rewrite_nullable(item)
        return
    if not isinstance(node, dict):
        return
    for value in node.values():
        _rewrite_nullable(value)
    if node.pop("nullable", False) is not True:
        return
    t = node.get("type")
    if isinstance(t, str):
        node["type"] = [t, "null"]
    elif isinstance(t, list):
        if "null" not in t:
            t.append("null")
    else:  # a composition (anyOf/oneOf/$ref) without a type
        inner = {k: node.pop(k) for k in list(node.keys())
                 if k in ("anyOf", "oneOf", "allOf", "$ref")}
        node["anyOf"] = [inner, {"type": "null"}]
    if "enum" in node and None not in node["enum"]:
        node["enum"].append(None)


def find_spec_dir(start=None):
    """<repo>/third_party/mist-api/ for the repository holding this file (or `start`)."""
    here = os.path.abspath(start or os.path.dirname(__file__))
    repo = here
    while repo != os.path.dirname(repo):
        if os.path.isfile(os.path.join(repo, "CMakeLists.txt")) and \
                os.path.isdir(os.path.join(repo, "src")):
            break
        repo = os.path.dirname(repo)
    return os.path.join(repo, "third_party", "mist-api")


class MistApi:
    """The description, patched, with validators. Immutable after construction."""

    def __init__(self, spec_dir=None, errata=True):
        spec_dir = spec_dir or find_spec_dir()
        path = os.path.join(spec_dir, SPEC_FILE)
        if not os.path.isfile(path):
            raise MissingSpecError(
                f"Mist's OpenAPI description is missing: {path} (expected the vendored "
                f"reference third_party/mist-api/ in the repository; conformance tests "
                f"fail without it, they never skip)")
        with open(path, encoding="utf-8") as f:
            self.spec = json.load(f)
        self.components = copy.deepcopy(self.spec["components"])
        _rewrite_nullable(self.components)
        self.errata = []
        if errata:
            for eid, what, why, patch in ERRATA:
                patch(self.components["schemas"])
                self.errata.append((eid, what, why))

    # --- schema lookup -------------------------------------------------------------------

    def _resolve(self, node):
        """Follows a chain of top-level $refs inside components; returns the target."""
        seen = set()
        while isinstance(node, dict) and set(node.keys()) <= {"$ref", "description"} and \
                "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/components/") or ref in seen:
                raise KeyError(f"cannot resolve {ref}")
            seen.add(ref)
            target = self.components
            for part in ref[len("#/components/"):].split("/"):
                target = target[part]
            node = target
        return node

    def schema(self, name):
        """A component schema by name (patched, nullable rewritten)."""
        if name not in self.components["schemas"]:
            raise KeyError(f"no schema '{name}' in the description")
        return self.components["schemas"][name]

    def response_schema(self, path, method, status, content_type="application/json"):
        """The schema of a response, or None when the description documents no body."""
        op = self.spec["paths"][path][method.lower()]
        response = self._resolve(op["responses"][str(status)])
        content = response.get("content")
        if not content:
            return None
        return content[content_type]["schema"]

    def request_schema(self, path, method, content_type="application/json"):
        op = self.spec["paths"][path][method.lower()]
        return op["requestBody"]["content"][content_type]["schema"]

    # --- validation ----------------------------------------------------------------------

    def _strict(self, node, deep):
        node = copy.deepcopy(self._resolve(node))
        for key in ("oneOf", "anyOf"):
            if key in node:
                node[key] = [self._strict(branch, deep) for branch in node[key]]
        if node.get("type") == "object" or "properties" in node:
            node.setdefault("additionalProperties", False)
            if deep:
                for name, prop in list(node.get("properties", {}).items()):
                    resolved = self._resolve(prop)
                    if isinstance(resolved, dict) and (
                            resolved.get("type") == "object" or "properties" in resolved):
                        node["properties"][name] = self._strict(prop, deep)
        return node

    def validator(self, schema, strict=False, strict_deep=False):
        """A Draft 2020-12 validator of `schema` (a dict, may hold #/components refs)."""
        top = self._strict(schema, strict_deep) if strict else copy.deepcopy(schema)
        if not isinstance(top, dict):
            top = {"allOf": [top]}
        top = dict(top)
        top["$schema"] = _DRAFT
        top["components"] = self.components
        jsonschema.Draft202012Validator.check_schema({k: v for k, v in top.items()
                                                       if k != "components"})
        return jsonschema.Draft202012Validator(top)

    @staticmethod
    def _errors(validator, instance):
        out = []
        for e in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in e.absolute_path) or "(root)"
            out.append(f"{where}: {e.message}")
            for sub in (e.context or [])[:6]:
                sub_where = "/".join(str(p) for p in sub.absolute_path) or "(root)"
                out.append(f"    [{'/'.join(str(p) for p in sub.schema_path)}] "
                           f"{sub_where}: {sub.message}")
        return out

    def validate(self, instance, schema_name, strict=False, strict_deep=False):
        """Errors of `instance` against components.schemas[schema_name]; [] when valid.

        strict adds additionalProperties: false to the object schema validated (to each
        branch of a oneOf/anyOf such as capture_site), strict_deep also to its nested objects.
        """
        schema = {"$ref": f"#/components/schemas/{schema_name}"}
        self.schema(schema_name)  # KeyError for an unknown name
        return self._errors(self.validator(schema, strict, strict_deep), instance)

    def validate_response(self, path, method, status, instance, strict=False):
        """Errors of a response body against its documented schema; [] when valid.

        A status the description does not document is an error; so is a body where it
        documents none (unless the body is an empty object).
        """
        op = self.spec["paths"].get(path, {}).get(method.lower())
        if op is None:
            return [f"{method.upper()} {path} is not in the description"]
        if str(status) not in op["responses"]:
            return [f"status {status} is not documented for {method.upper()} {path}"]
        schema = self.response_schema(path, method, status)
        if schema is None:
            return [] if instance in ({}, None) else [
                f"{method.upper()} {path} {status} documents no body, got {instance!r}"]
        return self._errors(self.validator(schema, strict), instance)

    def validate_request(self, path, method, instance, strict=False):
        return self._errors(self.validator(self.request_schema(path, method), strict), instance)


_DEFAULT = None


def load(spec_dir=None):
    """The shared MistApi (cached when spec_dir is None)."""
    global _DEFAULT
    if spec_dir is not None:
        return MistApi(spec_dir)
    if _DEFAULT is None:
        _DEFAULT = MistApi()
    return _DEFAULT


def validate(instance, schema_name, strict=False, spec_dir=None):
    return load(spec_dir).validate(instance, schema_name, strict)


def validate_response(path, method, status, instance, strict=False, spec_dir=None):
    return load(spec_dir).validate_response(path, method, status, instance, strict)
