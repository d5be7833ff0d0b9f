// Package odcs reads and writes data contracts in the Open Data Contract Standard (ODCS
// v3.1.0, and v3.0.x documents valid under it) for meshgate.
//
// Reading: Decode is a strict model of the standard. Every document is checked the way the
// official ODCS JSON Schema checks it (unknown keys, types, required fields, enums, the
// conditional shapes of properties, servers and quality entries), and all problems come
// back at once as file:line:col. The package tests hold the model to the official schema
// with a real JSON Schema validator on the official examples and on a generated corpus of
// mutated documents; the few restrictions meshgate adds are marked Problem.Beyond.
//
// Mapping: Build turns a document and its binding (Binding, the *.meshgate.yaml file beside
// the document) into a rules.Spec: properties become field declarations (required,
// logicalType, logicalTypeOptions, nested objects, arrays), per-event quality metrics and
// custom entries of engine meshgate become rules named after their place
// (payment.customer_id.pattern), aggregate thresholds become Aggregates (alerts, see
// Alerts), and everything not enforced on a stream becomes a lint note. Importing the
// package registers *.odcs.yaml and *.meshgate.yaml with rules.Load.
//
// Writing: Export renders any contract spec as an ODCS v3.1.0 document plus a binding that
// together judge events exactly as the original contract does.
//
// docs/odcs.md describes the mapping for users.
package odcs
