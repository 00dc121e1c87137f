//! The enriched-leads export of an import: every accepted lead, where it stands, and what Clay
//! called back with, as one CSV streamed page by page (formula-safe, like every CSV Kiln writes).

use crate::{
    error::{Error, Result},
    ingest::rejects_csv,
    store::{self, Db, leads::ExportRow},
};
use axum::{
    body::Body,
    http::header,
    response::{IntoResponse, Response},
};
use futures_util::{StreamExt, stream};
use serde_json::{Map, Value};
use std::collections::HashSet;

const PAGE: i64 = 2_000;

/// Where a lead stands with its callback.
pub fn callback_status(row: &ExportRow, now: i64) -> &'static str {
    match (row.state.as_str(), row.callback_at, row.delivered_at) {
        (_, Some(_), _) => "received",
        ("delivered", None, Some(delivered)) => {
            let timeout = row.callback_timeout_mins.unwrap_or(60).max(1) * 60_000;
            if now - delivered >= timeout { "no callback" } else { "awaiting" }
        }
        _ => "",
    }
}

/// Fields in order of first appearance: the mapped payload's, then the enrichment's.
#[derive(Default)]
struct Columns {
    lead: Vec<String>,
    enriched: Vec<String>,
    seen_lead: HashSet<String>,
    seen_enriched: HashSet<String>,
}

impl Columns {
    fn learn(&mut self, row: &ExportRow) {
        for key in object(&row.payload).keys() {
            if self.seen_lead.insert(key.clone()) {
                self.lead.push(key.clone());
            }
        }
        for key in row.enrichment.as_deref().map(object).unwrap_or_default().keys() {
            if self.seen_enriched.insert(key.clone()) {
                self.enriched.push(key.clone());
            }
        }
    }

    fn header(&self) -> String {
        let fixed = [
            "kiln_id",
            "line",
            "table",
            "state",
            "attempts",
            "last_status",
            "last_error",
            "delivered_at",
            "callback",
            "credits_used",
            "forwarded",
            "purged",
        ];
        let enriched = self.enriched.iter().map(|key| format!("enriched.{key}"));
        rejects_csv::line(fixed.into_iter().map(str::to_owned).chain(self.lead.iter().cloned()).chain(enriched))
    }

    fn line(&self, row: &ExportRow, now: i64) -> String {
        let lead = object(&row.payload);
        let enrichment = row.enrichment.as_deref().map(object).unwrap_or_default();
        let time = |at: Option<i64>| {
            at.and_then(chrono::DateTime::from_timestamp_millis)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default()
        };
        let fixed = [
            row.id.to_string(),
            row.line.to_string(),
            row.table_name.clone().unwrap_or_default(),
            row.state.clone(),
            row.attempts.to_string(),
            row.last_status.map(|s| s.to_string()).unwrap_or_default(),
            row.last_error.clone().unwrap_or_default(),
            time(row.delivered_at),
            callback_status(row, now).to_owned(),
            row.credits_used.map(|c| c.to_string()).unwrap_or_default(),
            row.forward_state.clone().unwrap_or_default(),
            if row.purged_at.is_some() { "yes".into() } else { String::new() },
        ];
        let lead_cells = self.lead.iter().map(|key| text(lead.get(key)));
        let enriched_cells = self.enriched.iter().map(|key| text(enrichment.get(key)));
        rejects_csv::line(fixed.into_iter().chain(lead_cells).chain(enriched_cells))
    }
}

/// Puts an import's leads, read in id order, back in the order of its file. A large file's
/// batches are written in key order (`store::leads::KEY_ORDER_FROM`), so ids follow the file only
/// from batch to batch; but a batch's leads share their `created_at`, have the ids after the
/// batch before it, and come from the lines after it: each run of equal `created_at`, sorted by
/// line, is the file's next rows. Holds one run at most (a batch: 20,000 rows).
#[derive(Default)]
struct FileOrder {
    run: Vec<ExportRow>,
}

impl FileOrder {
    /// Takes the next page; gives back the rows whose place is now known.
    fn next_page(&mut self, page: Vec<ExportRow>) -> Vec<ExportRow> {
        let mut ready = Vec::new();
        for row in page {
            if self.run.last().is_some_and(|last| last.created_at != row.created_at) {
                ready.append(&mut self.end_run());
            }
            self.run.push(row);
        }
        ready
    }

    /// The rows held, once every page has been read.
    fn end_run(&mut self) -> Vec<ExportRow> {
        self.run.sort_unstable_by_key(|row| row.line);
        std::mem::take(&mut self.run)
    }
}

fn object(json: &str) -> Map<String, Value> {
    serde_json::from_str(json).unwrap_or_default()
}

fn text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Reads the whole import once to learn its columns (only the names are kept).
async fn columns(db: &Db, import_id: i64) -> Result<Columns> {
    let mut columns = Columns::default();
    let mut after = 0;
    loop {
        let page = store::leads::export_page(db, import_id, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        page.iter().for_each(|row| columns.learn(row));
    }
    Ok(columns)
}

/// The export as a streamed CSV download (the API and the page share it).
pub async fn enriched_leads_response(db: &Db, import_id: i64) -> Result<Response> {
    store::imports::find(db, import_id).await?.ok_or(Error::NotFound("import"))?;
    let columns = std::sync::Arc::new(columns(db, import_id).await?);
    let header_line = columns.header();
    let now = store::now_millis();
    let db = db.clone();
    let pages = stream::unfold(Some((0_i64, FileOrder::default())), move |state| {
        let (db, columns) = (db.clone(), columns.clone());
        async move {
            let (after, mut order) = state?;
            match store::leads::export_page(&db, import_id, after, PAGE).await {
                Err(error) => {
                    tracing::error!(%error, import_id, "enriched export cut short");
                    Some((Err(std::io::Error::other("database error")), None))
                }
                Ok(page) => {
                    let (rows, next) = match page.last() {
                        Some(last) => {
                            let last = last.id;
                            (order.next_page(page), Some((last, order)))
                        }
                        None => (order.end_run(), None),
                    };
                    let chunk: String = rows.iter().map(|row| columns.line(row, now)).collect();
                    Some((Ok(chunk), next))
                }
            }
        }
    });
    let body = Body::from_stream(stream::iter([Ok::<_, std::io::Error>(header_line)]).chain(pages));
    let disposition = format!("attachment; filename=\"import-{import_id}-leads.csv\"");
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: &str, delivered_at: Option<i64>, callback_at: Option<i64>) -> ExportRow {
        ExportRow {
            id: 1,
            line: 2,
            table_name: Some("T".into()),
            state: state.into(),
            attempts: 1,
            last_status: Some(200),
            last_error: None,
            delivered_at,
            callback_at,
            credits_used: None,
            callback_timeout_mins: Some(10),
            forward_state: None,
            purged_at: None,
            payload: r#"{"email":"a@b.co","Notes":"=cmd()"}"#.into(),
            enrichment: callback_at.map(|_| r#"{"title":"CTO","size":12}"#.into()),
            created_at: 0,
        }
    }

    /// Two batches written in key order, read in pages that end inside them, come out in the
    /// order of their lines.
    #[test]
    fn leads_read_by_id_come_out_in_file_order() {
        let lead =
            |id: i64, line: i64, created_at: i64| ExportRow { id, line, created_at, ..row("queued", None, None) };
        // Read in pages of two, by id.
        let pages =
            [[lead(1, 4, 10), lead(2, 2, 10)], [lead(3, 3, 10), lead(4, 6, 11)], [lead(5, 5, 11), lead(6, 7, 12)]];
        let mut order = FileOrder::default();
        let mut lines = Vec::new();
        for page in pages {
            lines.extend(order.next_page(page.into()).iter().map(|row| row.line));
        }
        lines.extend(order.end_run().iter().map(|row| row.line));
        assert_eq!(lines, [2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn a_delivered_lead_without_callback_is_flagged_after_the_table_timeout() {
        let minute = 60_000;
        assert_eq!(callback_status(&row("delivered", Some(0), None), 9 * minute), "awaiting");
        assert_eq!(callback_status(&row("delivered", Some(0), None), 10 * minute), "no callback");
        assert_eq!(callback_status(&row("delivered", Some(0), Some(5)), 99 * minute), "received");
        assert_eq!(callback_status(&row("queued", None, None), 99 * minute), "");
    }

    #[test]
    fn columns_are_learnt_in_order_and_cells_are_formula_safe() {
        let mut columns = Columns::default();
        let (plain, enriched) = (row("delivered", Some(0), None), row("delivered", Some(0), Some(1)));
        columns.learn(&plain);
        columns.learn(&enriched);
        assert!(columns.header().ends_with("email,Notes,enriched.title,enriched.size\r\n"), "{}", columns.header());
        let line = columns.line(&enriched, 0);
        assert!(line.ends_with("a@b.co,'=cmd(),CTO,12\r\n"), "{line}");
        assert!(columns.line(&plain, 0).ends_with("a@b.co,'=cmd(),,\r\n"));
    }
}
