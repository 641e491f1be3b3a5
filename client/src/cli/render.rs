//! Output: JSON on request (`--json`), otherwise PowerShell-like text — an object as
//! `Name : Value` lines (Format-List), a list of objects as a table (Format-Table).

use serde::Serialize;
use serde_json::Value;

/// Prints `value` as JSON or as text.
pub fn print<T: Serialize>(value: &T, json: bool) -> anyhow::Result<()> {
    let value = serde_json::to_value(value)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!("{}", text(&value));
    }
    Ok(())
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "{{{}}}",
            items.iter().map(scalar).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(_) => v.to_string(),
        other => other.to_string(),
    }
}

/// Format-List of an object (nested objects flattened with dotted names), Format-Table of a
/// list of objects.
pub fn text(value: &Value) -> String {
    match value {
        Value::Array(items) if items.iter().all(Value::is_object) && !items.is_empty() => {
            table(items)
        }
        Value::Array(items) if items.is_empty() => String::new(),
        Value::Object(_) => {
            let mut rows = Vec::new();
            flatten("", value, &mut rows);
            let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            let mut out = String::from("\n");
            for (k, v) in rows {
                out.push_str(&format!("{k:<width$} : {v}\n"));
            }
            out.push('\n');
            out
        }
        other => format!("{}\n", scalar(other)),
    }
}

fn flatten(prefix: &str, value: &Value, rows: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match v {
                    Value::Object(_) => flatten(&name, v, rows),
                    Value::Array(items) if items.iter().any(Value::is_object) => {
                        for (i, item) in items.iter().enumerate() {
                            flatten(&format!("{name}[{i}]"), item, rows);
                        }
                    }
                    _ => rows.push((name, scalar(v))),
                }
            }
        }
        other => rows.push((prefix.to_owned(), scalar(other))),
    }
}

fn table(items: &[Value]) -> String {
    let mut columns: Vec<String> = Vec::new();
    for item in items {
        if let Value::Object(map) = item {
            for k in map.keys() {
                if !columns.contains(k) {
                    columns.push(k.clone());
                }
            }
        }
    }
    let cells: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            columns
                .iter()
                .map(|c| scalar(item.get(c).unwrap_or(&Value::Null)))
                .collect()
        })
        .collect();
    // The last column (messages) is left unpadded so long text stays readable.
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
                .max(c.len())
        })
        .collect();
    let line = |row: &[String]| {
        let mut parts = Vec::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                parts.push(cell.clone());
            } else {
                parts.push(format!("{cell:<w$}", w = widths[i]));
            }
        }
        parts.join(" ").trim_end().to_owned()
    };
    let mut out = String::from("\n");
    out.push_str(&line(&columns));
    out.push('\n');
    let dashes: Vec<String> = columns.iter().map(|c| "-".repeat(c.len())).collect();
    out.push_str(&line(&dashes));
    out.push('\n');
    for row in cells {
        out.push_str(&line(&row));
        out.push('\n');
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_list_and_lists_tabulate() {
        let list = text(
            &json!({"ConnectorIdentityType": "Application", "Certificate": {"SerialNumber": "0A"}}),
        );
        assert!(list.contains("ConnectorIdentityType    : Application"));
        assert!(list.contains("Certificate.SerialNumber : 0A"));
        let table = text(&json!([{"Id": 1011, "Level": "Warning"}, {"Id": 906, "Level": "Error"}]));
        assert!(
            table.contains("Id   Level\n--   -----\n1011 Warning\n906  Error\n"),
            "{table}"
        );
    }
}
