//! What a SQL statement says about itself, for the database conventions of every SQL client
//! integration (tokio-postgres, sqlx): the operation and table (`db.operation.name`,
//! `db.collection.name`) and the text without its values (`db.query.text`).

/// The operation (`SELECT`, `INSERT`, ...) and, when it can be known from the text, the table.
pub(super) fn operation(sql: &str) -> (String, Option<String>) {
    let words: Vec<&str> = sql.split_whitespace().take(64).collect();
    let op = words
        .first()
        .map(|w| w.trim_end_matches(';').to_ascii_uppercase())
        .unwrap_or_else(|| "QUERY".to_string());
    let after = |kw: &str| {
        words
            .iter()
            .position(|w| w.eq_ignore_ascii_case(kw))
            .and_then(|i| words.get(i + 1))
            .map(|t| {
                // `items(a)`: the table ends where its column list begins.
                let t = t.split('(').next().unwrap_or("");
                t.trim_matches(|c: char| c == ';' || c == '"' || c == ',')
                    .to_string()
            })
            .filter(|t| !t.is_empty() && !t.starts_with('('))
    };
    let table = match op.as_str() {
        "SELECT" | "DELETE" => after("FROM"),
        "INSERT" => after("INTO"),
        "UPDATE" => words.get(1).map(|t| t.trim_matches('"').to_string()),
        _ => None,
    };
    (op, table)
}

/// `db.query.text` without values: string and number literals become `?`.
pub(super) fn sanitize(sql: &str) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\'' {
            // A string literal, '' inside it is an escaped quote.
            i += 1;
            while i < b.len() {
                if b[i] == b'\'' {
                    if b.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i += 1;
            out.push('?');
            continue;
        }
        let starts_word =
            i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b'$');
        if c.is_ascii_digit() && starts_word {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1;
            }
            out.push('?');
            continue;
        }
        // Copy one UTF-8 character.
        let len = sql[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&sql[i..i + len]);
        i += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_go_parameters_stay() {
        assert_eq!(
            sanitize("SELECT * FROM t WHERE a = 'it''s' AND b = 42 AND c = $1 AND d2 = 3.5"),
            "SELECT * FROM t WHERE a = ? AND b = ? AND c = $1 AND d2 = ?"
        );
        assert_eq!(
            sanitize("INSERT INTO café (n) VALUES ('é')"),
            "INSERT INTO café (n) VALUES (?)"
        );
    }

    #[test]
    fn operation_and_table() {
        assert_eq!(
            operation("select id from orders where x = 1"),
            ("SELECT".into(), Some("orders".into()))
        );
        assert_eq!(
            operation("INSERT INTO items(a) VALUES ($1)"),
            ("INSERT".into(), Some("items".into()))
        );
        assert_eq!(
            operation("UPDATE stock SET n = 1"),
            ("UPDATE".into(), Some("stock".into()))
        );
        assert_eq!(operation("CREATE TABLE t (a int)"), ("CREATE".into(), None));
    }
}
