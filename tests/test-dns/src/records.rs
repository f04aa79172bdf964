//! The records the server holds: types, values, name normalisation and the in-memory store.

use std::{
    collections::HashMap,
    fmt,
    net::{Ipv4Addr, Ipv6Addr},
    str::FromStr,
};

use hickory_proto::rr::Name;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Record types the server can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RecordKind {
    /// IPv4 address.
    #[serde(rename = "A", alias = "a")]
    A,
    /// IPv6 address.
    #[serde(rename = "AAAA", alias = "aaaa")]
    Aaaa,
    /// Alias to another name.
    #[serde(rename = "CNAME", alias = "cname")]
    Cname,
    /// Free text (one character-string sequence per value).
    #[serde(rename = "TXT", alias = "txt")]
    Txt,
}

impl RecordKind {
    /// The type's name as DNS writes it (`A`, `AAAA`, `CNAME`, `TXT`).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::A => "A",
            RecordKind::Aaaa => "AAAA",
            RecordKind::Cname => "CNAME",
            RecordKind::Txt => "TXT",
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RecordKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_uppercase().as_str() {
            "A" => Ok(RecordKind::A),
            "AAAA" => Ok(RecordKind::Aaaa),
            "CNAME" => Ok(RecordKind::Cname),
            "TXT" => Ok(RecordKind::Txt),
            _ => Err(Error::UnknownKind(s.to_string())),
        }
    }
}

/// The data of one record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RecordData {
    /// IPv4 address.
    A(Ipv4Addr),
    /// IPv6 address.
    Aaaa(Ipv6Addr),
    /// Target name, normalised (lower case, no trailing dot).
    Cname(String),
    /// Text, case preserved; split into 255-byte character-strings on the wire.
    Txt(String),
}

impl RecordData {
    /// Parses a textual value for `kind` (the form used by the HTTP API and zone files).
    pub fn parse(kind: RecordKind, value: &str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidValue {
            kind,
            value: value.to_string(),
            reason,
        };
        match kind {
            RecordKind::A => value
                .trim()
                .parse()
                .map(RecordData::A)
                .map_err(|e| invalid(format!("{e}"))),
            RecordKind::Aaaa => value
                .trim()
                .parse()
                .map(RecordData::Aaaa)
                .map_err(|e| invalid(format!("{e}"))),
            RecordKind::Cname => normalize_name(value)
                .map(RecordData::Cname)
                .map_err(|e| invalid(e.to_string())),
            RecordKind::Txt => Ok(RecordData::Txt(value.to_string())),
        }
    }

    /// The record's type.
    pub fn kind(&self) -> RecordKind {
        match self {
            RecordData::A(_) => RecordKind::A,
            RecordData::Aaaa(_) => RecordKind::Aaaa,
            RecordData::Cname(_) => RecordKind::Cname,
            RecordData::Txt(_) => RecordKind::Txt,
        }
    }

    /// The value in the textual form [`RecordData::parse`] accepts.
    pub fn value_string(&self) -> String {
        match self {
            RecordData::A(ip) => ip.to_string(),
            RecordData::Aaaa(ip) => ip.to_string(),
            RecordData::Cname(target) => target.clone(),
            RecordData::Txt(text) => text.clone(),
        }
    }
}

/// One record as listed by [`crate::TestDns::records`] and `GET /records`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordEntry {
    /// Owner name, lower case, without trailing dot.
    pub name: String,
    /// Record type.
    #[serde(rename = "type")]
    pub kind: RecordKind,
    /// Value (IP address, CNAME target or text).
    pub value: String,
}

/// Normalises a record or query name into the store's key: lower case, no trailing dot.
///
/// Rejects names that cannot travel in a DNS message (empty, empty label, label over 63 bytes,
/// name over 255 bytes). Non-ASCII names are converted to their IDNA (punycode) form.
pub fn normalize_name(name: &str) -> Result<String, Error> {
    let trimmed = name.trim();
    let invalid = |reason: &str| Error::InvalidName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    let without_dot = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if without_dot.is_empty() {
        return Err(invalid("empty name"));
    }
    let parsed = if without_dot.is_ascii() {
        Name::from_ascii(without_dot)
    } else {
        Name::from_utf8(without_dot)
    }
    .map_err(|e| invalid(&e.to_string()))?;
    Ok(key_of(&parsed))
}

/// The store key of a name taken from a DNS message.
pub(crate) fn key_of(name: &Name) -> String {
    let mut ascii = name.to_ascii();
    if ascii.ends_with('.') {
        ascii.pop();
    }
    ascii.make_ascii_lowercase();
    ascii
}

/// Where a record came from; a zone-file reload replaces only the zone file's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Api,
    ZoneFile,
}

#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) data: RecordData,
    pub(crate) source: Source,
}

/// Name → records, with a generation counter that becomes the SOA serial.
#[derive(Debug, Default)]
pub(crate) struct Store {
    names: HashMap<String, Vec<Stored>>,
    generation: u32,
}

impl Store {
    /// Adds a record; identical data at the same name is kept once, and a CNAME replaces an
    /// earlier CNAME (a name has at most one).
    pub(crate) fn add(&mut self, key: String, data: RecordData, source: Source) {
        let entries = self.names.entry(key).or_default();
        if let Some(existing) = entries.iter_mut().find(|s| s.data == data) {
            // An API add of a zone-file record makes it survive the next reload.
            if source == Source::Api {
                existing.source = Source::Api;
            }
        } else {
            if data.kind() == RecordKind::Cname {
                entries.retain(|s| s.data.kind() != RecordKind::Cname);
            }
            entries.push(Stored { data, source });
        }
        self.bump();
    }

    /// Removes records at `key` (all types when `kind` is `None`); returns how many went.
    pub(crate) fn remove(&mut self, key: &str, kind: Option<RecordKind>) -> usize {
        let Some(entries) = self.names.get_mut(key) else {
            return 0;
        };
        let before = entries.len();
        entries.retain(|s| kind.is_some_and(|k| s.data.kind() != k));
        let removed = before - entries.len();
        if entries.is_empty() {
            self.names.remove(key);
        }
        if removed > 0 {
            self.bump();
        }
        removed
    }

    /// Removes one exact record; returns whether it existed.
    pub(crate) fn remove_data(&mut self, key: &str, data: &RecordData) -> bool {
        let Some(entries) = self.names.get_mut(key) else {
            return false;
        };
        let before = entries.len();
        entries.retain(|s| &s.data != data);
        let removed = before != entries.len();
        if entries.is_empty() {
            self.names.remove(key);
        }
        if removed {
            self.bump();
        }
        removed
    }

    /// Replaces every record from `source` by `records`, in one step.
    pub(crate) fn replace_source(&mut self, source: Source, records: Vec<(String, RecordData)>) {
        self.names.retain(|_, entries| {
            entries.retain(|s| s.source != source);
            !entries.is_empty()
        });
        for (key, data) in records {
            let entries = self.names.entry(key).or_default();
            if !entries.iter().any(|s| s.data == data) {
                if data.kind() == RecordKind::Cname {
                    entries.retain(|s| s.data.kind() != RecordKind::Cname);
                }
                entries.push(Stored { data, source });
            }
        }
        self.bump();
    }

    /// Removes everything.
    pub(crate) fn clear(&mut self) {
        self.names.clear();
        self.bump();
    }

    pub(crate) fn get(&self, key: &str) -> Option<&[Stored]> {
        self.names.get(key).map(Vec::as_slice)
    }

    /// Number of records held.
    pub(crate) fn len(&self) -> usize {
        self.names.values().map(Vec::len).sum()
    }

    pub(crate) fn generation(&self) -> u32 {
        self.generation
    }

    /// Every record, sorted by name, type and value.
    pub(crate) fn list(&self) -> Vec<RecordEntry> {
        let mut out: Vec<RecordEntry> = self
            .names
            .iter()
            .flat_map(|(name, entries)| {
                entries.iter().map(move |s| RecordEntry {
                    name: name.clone(),
                    kind: s.data.kind(),
                    value: s.data.value_string(),
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.name, a.kind, &a.value).cmp(&(&b.name, b.kind, &b.value)));
        out
    }

    fn bump(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise_case_and_trailing_dot() {
        assert_eq!(normalize_name("Login.Example.COM.").unwrap(), "login.example.com");
        assert_eq!(
            normalize_name("_cf-custom-hostname.example.com").unwrap(),
            "_cf-custom-hostname.example.com"
        );
        assert!(normalize_name("").is_err());
        assert!(normalize_name(".").is_err());
        assert!(normalize_name("a..b").is_err());
        assert!(normalize_name(&format!("{}.com", "x".repeat(64))).is_err());
    }

    #[test]
    fn kinds_parse_case_insensitively() {
        assert_eq!("txt".parse::<RecordKind>().unwrap(), RecordKind::Txt);
        assert_eq!("AAAA".parse::<RecordKind>().unwrap(), RecordKind::Aaaa);
        assert!("MX".parse::<RecordKind>().is_err());
    }

    #[test]
    fn values_parse_per_kind() {
        assert_eq!(
            RecordData::parse(RecordKind::A, "10.0.0.1").unwrap(),
            RecordData::A(Ipv4Addr::new(10, 0, 0, 1))
        );
        assert!(RecordData::parse(RecordKind::A, "::1").is_err());
        assert_eq!(
            RecordData::parse(RecordKind::Cname, "Edge.Auth0.com.").unwrap(),
            RecordData::Cname("edge.auth0.com".into())
        );
        assert_eq!(
            RecordData::parse(RecordKind::Txt, "Keep Case").unwrap(),
            RecordData::Txt("Keep Case".into())
        );
    }

    #[test]
    fn store_dedupes_replaces_cname_and_removes_by_kind() {
        let mut store = Store::default();
        store.add("a.test".into(), RecordData::Txt("one".into()), Source::Api);
        store.add("a.test".into(), RecordData::Txt("one".into()), Source::Api);
        store.add("a.test".into(), RecordData::Txt("two".into()), Source::Api);
        store.add("a.test".into(), RecordData::Cname("x.test".into()), Source::Api);
        store.add("a.test".into(), RecordData::Cname("y.test".into()), Source::Api);
        assert_eq!(store.len(), 3);
        assert_eq!(store.remove("a.test", Some(RecordKind::Txt)), 2);
        assert_eq!(store.list()[0].value, "y.test");
        assert_eq!(store.remove("a.test", None), 1);
        assert!(store.get("a.test").is_none());
    }

    #[test]
    fn replacing_zone_records_keeps_api_records() {
        let mut store = Store::default();
        store.add("api.test".into(), RecordData::Txt("api".into()), Source::Api);
        store.replace_source(
            Source::ZoneFile,
            vec![("zone.test".into(), RecordData::Txt("v1".into()))],
        );
        store.replace_source(
            Source::ZoneFile,
            vec![("zone.test".into(), RecordData::Txt("v2".into()))],
        );
        let values: Vec<String> = store.list().into_iter().map(|r| r.value).collect();
        assert_eq!(values, vec!["api".to_string(), "v2".to_string()]);
    }
}
