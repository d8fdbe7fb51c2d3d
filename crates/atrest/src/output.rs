//! Printing results: tables for people, JSON for scripts.
//!
//! JSON mode prints the server's answer unchanged (pretty-printed), so scripts see the same
//! fields as the REST API. Table mode shows chosen columns; values are read from the JSON by
//! pointer, so a missing field shows as `-` instead of failing.

use std::io::IsTerminal;

use clap::ValueEnum;
use comfy_table::{presets, ContentArrangement, Table};
use serde_json::Value;

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Human-readable tables (the default when stdout is a terminal).
    Table,
    /// JSON, as the REST API answers (the default otherwise).
    Json,
}

/// How a value is shown in a table cell.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Style {
    /// As is; arrays joined with `,`.
    Plain,
    /// Unix seconds shown as an RFC 3339 UTC time.
    Time,
}

/// A table column (or a row of a single object's table).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    header: &'static str,
    pointer: &'static str,
    style: Style,
}

/// A plain column: `header`, value at JSON `pointer`.
pub(crate) const fn col(header: &'static str, pointer: &'static str) -> Column {
    Column {
        header,
        pointer,
        style: Style::Plain,
    }
}

/// A column of unix times.
pub(crate) const fn time_col(header: &'static str, pointer: &'static str) -> Column {
    Column {
        header,
        pointer,
        style: Style::Time,
    }
}

/// Where results go, in which format.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    format: Format,
}

impl Output {
    /// `--output`, or the default for stdout.
    pub(crate) fn new(choice: Option<Format>) -> Self {
        let format = choice.unwrap_or(if std::io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Json
        });
        Self { format }
    }

    /// Whether results are JSON.
    pub(crate) fn is_json(&self) -> bool {
        self.format == Format::Json
    }

    /// A list: one row per element of `items`.
    pub(crate) fn list(&self, items: &[Value], columns: &[Column]) {
        if self.is_json() {
            print_json(&Value::Array(items.to_vec()));
            return;
        }
        let mut table = new_table();
        table.set_header(columns.iter().map(|c| c.header));
        for item in items {
            table.add_row(columns.iter().map(|c| cell(item, c)));
        }
        println!("{table}");
    }

    /// One object: a two-column table of the chosen fields.
    pub(crate) fn object(&self, value: &Value, fields: &[Column]) {
        if self.is_json() {
            print_json(value);
            return;
        }
        let mut table = Table::new();
        table
            .load_preset(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled);
        for field in fields {
            table.add_row(vec![field.header.to_owned(), cell(value, field)]);
        }
        println!("{table}");
    }

    /// A result whose JSON is `value` and whose human form is `text`.
    pub(crate) fn done(&self, value: &Value, text: &str) {
        if self.is_json() {
            print_json(value);
        } else {
            println!("{text}");
        }
    }
}

fn new_table() -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_HORIZONTAL_ONLY)
        .set_content_arrangement(ContentArrangement::Disabled);
    table
}

fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// The text of `column` for `item`.
pub(crate) fn cell(item: &Value, column: &Column) -> String {
    let value = item.pointer(column.pointer).unwrap_or(&Value::Null);
    match (column.style, value) {
        (Style::Time, Value::Number(n)) => n
            .as_i64()
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| n.to_string()),
        _ => text(value),
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(s) if s.is_empty() => "-".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "-".to_owned(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
        Value::Object(map) if map.is_empty() => "-".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_read_pointers_and_format_values() {
        let v = json!({"a": {"b": ["x", "y"]}, "t": 0, "e": "", "n": null, "ok": true});
        assert_eq!(cell(&v, &col("B", "/a/b")), "x,y");
        assert_eq!(cell(&v, &time_col("T", "/t")), "1970-01-01T00:00:00Z");
        assert_eq!(cell(&v, &col("E", "/e")), "-");
        assert_eq!(cell(&v, &col("N", "/n")), "-");
        assert_eq!(cell(&v, &col("M", "/missing")), "-");
        assert_eq!(cell(&v, &col("OK", "/ok")), "true");
    }
}
