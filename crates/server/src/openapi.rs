//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations and
//! the wire types' schemas, and `/docs`: the same document rendered as one plain HTML page
//! (no scripts, nothing fetched).

use std::fmt::Write;

use serde_json::Value;
use utoipa::OpenApi;

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lakehouse",
        description = "Datasets, SQL, corpora with matrix search, versioned agent memory and \
            journals over one object store. Errors have one shape: \
            {\"error\": {\"code\", \"message\", \"details\"}}. Send `Authorization: Bearer <token>` \
            when the server has tokens.",
    ),
    paths(
        routes::healthz,
        routes::readyz,
        routes::sql::sql,
        routes::search::search,
        routes::datasets::list,
        routes::datasets::describe,
        routes::datasets::history,
        routes::datasets::compact,
        routes::gc::vacuum,
        routes::datasets::drop_dataset,
        routes::datasets::ingest,
        routes::datasets::upload,
        routes::corpora::list,
        routes::corpora::describe,
        routes::corpora::history,
        routes::corpora::drop_corpus,
        routes::corpora::build,
        routes::corpora::tune,
        routes::corpora::compact,
        routes::gc::corpus_gc,
        routes::memory::upsert,
        routes::memory::list,
        routes::memory::get_record,
        routes::memory::revise,
        routes::memory::retire,
        routes::memory::outcome,
        routes::memory::history,
        routes::memory::search,
        routes::memory::compact,
        routes::memory::namespaces,
        routes::journals::append,
        routes::journals::read,
        routes::journals::tail,
        routes::journals::stats,
        routes::journals::compact,
        routes::jobs::list,
        routes::jobs::status,
        routes::jobs::events,
        routes::agent::start_run,
        routes::agent::run_events,
        routes::agent::list_sessions,
        routes::agent::session_events,
        routes::agent::replay,
        routes::overview::overview,
        routes::gc::gc,
        routes::reports::list,
        routes::reports::read,
    ),
    tags(
        (name = "operations", description = "Liveness, readiness and the store at a glance"),
        (name = "datasets", description = "Delta tables and read-only SQL"),
        (name = "corpora", description = "ANN + BM25 indexes built from datasets"),
        (name = "search", description = "One query over many corpora"),
        (name = "memory", description = "Versioned memory: facts, pathways and playbooks"),
        (name = "journals", description = "Append-only event journals"),
        (name = "jobs", description = "Long work and its progress"),
        (name = "agent", description = "Agent runs, sessions and replays"),
        (name = "reports", description = "Benchmark and eval reports for the console"),
    )
)]
struct ApiDoc;

/// The document as JSON text.
pub(crate) fn document_json() -> String {
    ApiDoc::openapi()
        .to_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot render the document: {e}\"}}"))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn schema_name(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    if let Some(items) = schema.get("items") {
        return format!("[{}]", schema_name(items));
    }
    schema
        .get("type")
        .map(|t| t.to_string().trim_matches('"').to_string())
        .unwrap_or_else(|| "object".into())
}

/// `/docs`: every operation with its description, parameters, body and answers, then every
/// schema.
pub(crate) fn docs_html() -> String {
    let doc: Value = serde_json::from_str(&document_json()).unwrap_or(Value::Null);
    let mut html = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Lakehouse API</title>\
         <style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}\
         h2{margin-top:2.5rem;border-bottom:1px solid #ddd}code,pre{background:#f5f5f5;padding:.1rem .3rem}\
         pre{padding:.6rem;overflow:auto}.m{font-weight:bold;text-transform:uppercase;margin-right:.5rem}\
         table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}</style>\
         </head><body><h1>Lakehouse API</h1>",
    );
    if let Some(d) = doc.pointer("/info/description").and_then(Value::as_str) {
        let _ = write!(html, "<p>{}</p>", escape(d));
    }
    html.push_str("<p>Machine-readable: <a href=\"/v1/openapi.json\">/v1/openapi.json</a></p>");
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, ops) in paths {
            let Some(ops) = ops.as_object() else { continue };
            for (method, op) in ops {
                let _ = write!(
                    html,
                    "<h2><span class=\"m\">{}</span><code>{}</code></h2>",
                    escape(method),
                    escape(path)
                );
                for key in ["summary", "description"] {
                    if let Some(t) = op.get(key).and_then(Value::as_str) {
                        let _ = write!(html, "<p>{}</p>", escape(t));
                    }
                }
                if let Some(params) = op.get("parameters").and_then(Value::as_array) {
                    html.push_str(
                        "<table><tr><th>parameter</th><th>in</th><th>type</th><th></th></tr>",
                    );
                    for p in params {
                        let _ = write!(
                            html,
                            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                            escape(p.get("name").and_then(Value::as_str).unwrap_or("")),
                            escape(p.get("in").and_then(Value::as_str).unwrap_or("")),
                            escape(&p.get("schema").map(schema_name).unwrap_or_default()),
                            escape(p.get("description").and_then(Value::as_str).unwrap_or("")),
                        );
                    }
                    html.push_str("</table>");
                }
                if let Some(content) = op
                    .pointer("/requestBody/content")
                    .and_then(Value::as_object)
                {
                    for (mime, body) in content {
                        let _ = write!(
                            html,
                            "<p>Body ({}): <code>{}</code></p>",
                            escape(mime),
                            escape(&body.get("schema").map(schema_name).unwrap_or_default())
                        );
                    }
                }
                if let Some(responses) = op.get("responses").and_then(Value::as_object) {
                    html.push_str("<ul>");
                    for (status, r) in responses {
                        let schema = r
                            .get("content")
                            .and_then(Value::as_object)
                            .and_then(|c| c.values().next())
                            .and_then(|c| c.get("schema"))
                            .map(schema_name)
                            .unwrap_or_default();
                        let _ = write!(
                            html,
                            "<li><b>{}</b> {} <code>{}</code></li>",
                            escape(status),
                            escape(r.get("description").and_then(Value::as_str).unwrap_or("")),
                            escape(&schema)
                        );
                    }
                    html.push_str("</ul>");
                }
            }
        }
    }
    if let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        html.push_str("<h2>Schemas</h2>");
        for (name, schema) in schemas {
            let pretty = serde_json::to_string_pretty(schema).unwrap_or_default();
            let _ = write!(
                html,
                "<h3 id=\"{0}\">{0}</h3><pre>{1}</pre>",
                escape(name),
                escape(&pretty)
            );
        }
    }
    html.push_str("</body></html>");
    html
}
