"""A check of a SARIF log against the SARIF 2.1.0 JSON schema
(sarif-schema-2.1.0.json, OASIS), for the objects pinapi writes: each object's
required properties, its anyOf-required groups, no property the schema does
not define (``additionalProperties: false``), and the types, minimums and enums
of the properties pinapi sets. Then the spec's cross-references: a result's
``ruleIndex`` names a rule whose ``id`` is its ``ruleId``, and a relative
``uri`` has its ``uriBaseId`` in ``run.originalUriBaseIds``."""

from __future__ import annotations

from typing import Any

#: A property's type: a definition's name, "string", "boolean", "int>=N", a
#: tuple ("enum", values...), ("array", item type), ("map", value type), or
#: "any" for a property the schema defines but pinapi never sets.
Type = str | tuple[str, ...]

LEVEL: Type = ("enum", "none", "note", "warning", "error")

#: name -> (required, anyOf-required groups, properties)
SCHEMA: dict[str, tuple[list[str], list[list[str]], dict[str, Type]]] = {
    "sarifLog": (["version", "runs"], [], {
        "$schema": "string", "version": ("enum", "2.1.0"), "runs": ("array", "run"),
        "inlineExternalProperties": "any", "properties": "propertyBag",
    }),
    "run": (["tool"], [], {
        "tool": "tool", "invocations": ("array", "invocation"), "originalUriBaseIds": ("map", "artifactLocation"),
        "results": ("array", "result"), "columnKind": ("enum", "utf16CodeUnits", "unicodeCodePoints"),
        **dict.fromkeys([
            "conversion", "language", "versionControlProvenance", "artifacts", "logicalLocations", "graphs",
            "automationDetails", "runAggregates", "baselineGuid", "redactionTokens", "defaultEncoding",
            "defaultSourceLanguage", "newlineSequences", "externalPropertyFileReferences", "threadFlowLocations",
            "taxonomies", "addresses", "translations", "policies", "webRequests", "webResponses",
            "specialLocations"], "any"),
        "properties": "propertyBag",
    }),
    "tool": (["driver"], [], {"driver": "toolComponent", "extensions": "any", "properties": "propertyBag"}),
    "toolComponent": (["name"], [], {
        "name": "string", "version": "string", "semanticVersion": "string", "informationUri": "string",
        "rules": ("array", "reportingDescriptor"),
        **dict.fromkeys([
            "guid", "organization", "product", "productSuite", "shortDescription", "fullDescription", "fullName",
            "dottedQuadFileVersion", "releaseDateUtc", "downloadUri", "globalMessageStrings", "notifications",
            "taxa", "locations", "language", "contents", "isComprehensive", "localizedDataSemanticVersion",
            "minimumRequiredLocalizedDataSemanticVersion", "associatedComponent", "translationMetadata",
            "supportedTaxonomies"], "any"),
        "properties": "propertyBag",
    }),
    "reportingDescriptor": (["id"], [], {
        "id": "string", "name": "string", "shortDescription": "multiformatMessageString",
        "fullDescription": "multiformatMessageString", "help": "multiformatMessageString",
        "defaultConfiguration": "reportingConfiguration",
        **dict.fromkeys(["deprecatedIds", "guid", "deprecatedGuids", "deprecatedNames", "messageStrings",
                         "helpUri", "relationships"], "any"),
        "properties": "propertyBag",
    }),
    "reportingConfiguration": ([], [], {
        "enabled": "boolean", "level": LEVEL, "rank": "any", "parameters": "propertyBag", "properties": "propertyBag",
    }),
    "multiformatMessageString": (["text"], [], {"text": "string", "markdown": "string", "properties": "propertyBag"}),
    "message": ([], [["text"], ["id"]], {
        "text": "string", "markdown": "string", "id": "string", "arguments": "any", "properties": "propertyBag",
    }),
    "invocation": (["executionSuccessful"], [], {
        "executionSuccessful": "boolean", "toolExecutionNotifications": ("array", "notification"),
        "toolConfigurationNotifications": ("array", "notification"),
        **dict.fromkeys([
            "commandLine", "arguments", "responseFiles", "startTimeUtc", "endTimeUtc", "exitCode",
            "ruleConfigurationOverrides", "notificationConfigurationOverrides", "exitCodeDescription",
            "exitSignalName", "exitSignalNumber", "processStartFailureMessage", "machine", "account", "processId",
            "executableLocation", "workingDirectory", "environmentVariables", "stdin", "stdout", "stderr",
            "stdoutStderr"], "any"),
        "properties": "propertyBag",
    }),
    "notification": (["message"], [], {
        "message": "message", "level": LEVEL,
        **dict.fromkeys(["locations", "threadId", "timeUtc", "exception", "descriptor", "associatedRule"], "any"),
        "properties": "propertyBag",
    }),
    "result": (["message"], [], {
        "ruleId": "string", "ruleIndex": "int>=-1", "level": LEVEL, "message": "message",
        "locations": ("array", "location"), "relatedLocations": ("array", "location"),
        "kind": ("enum", "notApplicable", "pass", "fail", "review", "open", "informational"),
        **dict.fromkeys([
            "rule", "analysisTarget", "guid", "correlationGuid", "occurrenceCount", "partialFingerprints",
            "fingerprints", "stacks", "codeFlows", "graphs", "graphTraversals", "suppressions", "baselineState",
            "rank", "attachments", "hostedViewerUri", "workItemUris", "provenance", "fixes", "taxa", "webRequest",
            "webResponse"], "any"),
        "properties": "propertyBag",
    }),
    "location": ([], [], {
        "id": "int>=-1", "physicalLocation": "physicalLocation", "message": "message",
        **dict.fromkeys(["logicalLocations", "annotations", "relationships"], "any"),
        "properties": "propertyBag",
    }),
    "physicalLocation": ([], [["address"], ["artifactLocation"]], {
        "address": "any", "artifactLocation": "artifactLocation", "region": "region", "contextRegion": "region",
        "properties": "propertyBag",
    }),
    "artifactLocation": ([], [], {
        "uri": "string", "uriBaseId": "string", "index": "int>=-1", "description": "message",
        "properties": "propertyBag",
    }),
    "region": ([], [["startLine"], ["charOffset"], ["byteOffset"]], {
        "startLine": "int>=1", "startColumn": "int>=1", "endLine": "int>=1", "endColumn": "int>=1",
        "charOffset": "int>=-1", "byteOffset": "int>=-1", "message": "message",
        **dict.fromkeys(["charLength", "byteLength", "snippet", "sourceLanguage"], "any"),
        "properties": "propertyBag",
    }),
}  # fmt: skip


def _check(value: Any, kind: Type, where: str, errors: list[str]) -> None:
    if kind == "any":
        return
    if isinstance(kind, tuple):
        if kind[0] == "enum":
            if value not in kind[1:]:
                errors.append(f"{where}: {value!r} is not one of {kind[1:]}")
        elif kind[0] in ("array", "map"):
            if not isinstance(value, list if kind[0] == "array" else dict):
                errors.append(f"{where}: not an {kind[0]}")
                return
            items = enumerate(value) if isinstance(value, list) else value.items()
            for key, item in items:
                _check(item, kind[1], f"{where}[{key!r}]", errors)
        return
    if kind == "string":
        if not isinstance(value, str):
            errors.append(f"{where}: not a string")
    elif kind == "boolean":
        if not isinstance(value, bool):
            errors.append(f"{where}: not a boolean")
    elif kind.startswith("int>="):
        if not isinstance(value, int) or isinstance(value, bool) or value < int(kind[5:]):
            errors.append(f"{where}: not an integer >= {kind[5:]}")
    elif kind == "propertyBag":
        if not isinstance(value, dict):
            errors.append(f"{where}: not an object")
    else:
        required, any_of, properties = SCHEMA[kind]
        if not isinstance(value, dict):
            errors.append(f"{where}: not a {kind} object")
            return
        errors += [f"{where}: {kind} lacks required {r!r}" for r in required if r not in value]
        if any_of and not any(all(r in value for r in group) for group in any_of):
            errors.append(f"{where}: {kind} needs one of {any_of}")
        errors += [f"{where}: {kind} has no property {k!r}" for k in value if k not in properties]
        for k, v in value.items():
            if k in properties:
                _check(v, properties[k], f"{where}.{k}", errors)


def validate(log: Any) -> list[str]:
    """Every way *log* is not a valid SARIF 2.1.0 log (empty: valid)."""
    errors: list[str] = []
    _check(log, "sarifLog", "$", errors)
    if errors:
        return errors
    for r, run in enumerate(log["runs"]):
        rules = run["tool"]["driver"].get("rules", [])
        bases = run.get("originalUriBaseIds", {})
        for base, loc in bases.items():
            if not loc.get("uri", "").endswith("/"):
                errors.append(f"$.runs[{r}].originalUriBaseIds[{base!r}]: a base URI ends with '/'")
        for i, result in enumerate(run.get("results", [])):
            where = f"$.runs[{r}].results[{i}]"
            if "ruleIndex" in result and rules[result["ruleIndex"]]["id"] != result.get("ruleId"):
                errors.append(f"{where}: ruleIndex names rule {rules[result['ruleIndex']]['id']!r}")
            for loc in result.get("locations", []) + result.get("relatedLocations", []):
                artifact = loc["physicalLocation"]["artifactLocation"]
                relative = "://" not in artifact["uri"]
                if relative and artifact.get("uriBaseId") not in bases:
                    errors.append(f"{where}: relative uri {artifact['uri']!r} without a known uriBaseId")
                if "\\" in artifact["uri"]:
                    errors.append(f"{where}: uri {artifact['uri']!r} has a backslash")
    return errors
