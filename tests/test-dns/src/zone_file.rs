//! The zone file format: one record per line, `name TYPE value`.
//!
//! ```text
//! # comments start with '#' or ';'
//! _cf-custom-hostname.login.example.com  TXT   "token with spaces"
//! login.example.com                      CNAME tenant-cd-abc.edge.tenants.auth0.com.
//! edge.example.com                       A     127.0.0.1
//! ```
//!
//! The value is the rest of the line, trimmed; a TXT value wrapped in double quotes is unquoted
//! (`\"` and `\\` escapes). Several lines with the same name and type give several values.

use crate::{
    error::Error,
    records::{RecordData, RecordKind, normalize_name},
};

/// One parsed line: normalised owner name and data.
pub type ZoneRecord = (String, RecordData);

/// Parses a zone file's text. On failure returns the 1-based line number and the reason.
pub fn parse_zone(text: &str) -> Result<Vec<ZoneRecord>, (usize, String)> {
    let mut records = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let at = |e: Error| (index + 1, e.to_string());
        let (name, rest) = split_token(line);
        let (kind, value) = split_token(rest);
        if kind.is_empty() || value.is_empty() {
            return Err((index + 1, format!("expected `name TYPE value`, got {line:?}")));
        }
        let kind: RecordKind = kind.parse().map_err(at)?;
        let value = if kind == RecordKind::Txt {
            unquote(value)
        } else {
            value.to_string()
        };
        let key = normalize_name(name).map_err(at)?;
        let data = RecordData::parse(kind, &value).map_err(at)?;
        records.push((key, data));
    }
    Ok(records)
}

/// Splits off the first whitespace-separated token; the rest is trimmed.
fn split_token(s: &str) -> (&str, &str) {
    match s.split_once(char::is_whitespace) {
        Some((head, tail)) => (head, tail.trim()),
        None => (s, ""),
    }
}

fn unquote(value: &str) -> String {
    let Some(inner) = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .filter(|_| value.len() >= 2)
    else {
        return value.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(escaped) = chars.next() {
                out.push(escaped);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_comments_and_quotes() {
        let text = "# comment\n\n; other comment\n\
            _cf.Example.com. TXT \"a \\\"quoted\\\" value\"\n\
            _cf.example.com TXT plain value\n\
            www.example.com CNAME Edge.Example.net.\n\
            host.example.com A 127.0.0.2\n";
        let records = parse_zone(text).unwrap();
        assert_eq!(
            records,
            vec![
                (
                    "_cf.example.com".into(),
                    RecordData::Txt("a \"quoted\" value".into())
                ),
                ("_cf.example.com".into(), RecordData::Txt("plain value".into())),
                (
                    "www.example.com".into(),
                    RecordData::Cname("edge.example.net".into())
                ),
                (
                    "host.example.com".into(),
                    RecordData::A("127.0.0.2".parse().unwrap())
                ),
            ]
        );
    }

    #[test]
    fn reports_the_failing_line() {
        let (line, _) = parse_zone("ok.test TXT x\nbad.test A not-an-ip\n").unwrap_err();
        assert_eq!(line, 2);
        let (line, _) = parse_zone("a.test MX 10 mail.test\n").unwrap_err();
        assert_eq!(line, 1);
        let (line, _) = parse_zone("lonely.test\n").unwrap_err();
        assert_eq!(line, 1);
    }
}
