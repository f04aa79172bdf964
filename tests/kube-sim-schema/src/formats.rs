//! A light version of the string formats kube-openapi's `strfmt` registry checks for CRDs.
//! Unknown formats (and numeric formats such as `int32`) are not checked, as on the real server.

use std::sync::LazyLock;

use regex::Regex;

static DATE_TIME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$").ok()
});
static DATE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^\d{4}-\d{2}-\d{2}$").ok());
static UUID: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^(?i)[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$").ok()
});
static HOSTNAME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"^([a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*\.?$",
    )
    .ok()
});
static BYTE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$").ok());
static DURATION: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d|w))+|0)$").ok());

fn matches(re: &LazyLock<Option<Regex>>, s: &str) -> bool {
    re.as_ref().is_none_or(|r| r.is_match(s))
}

/// Whether `s` is a valid instance of `format` (true for formats that are not checked).
pub(crate) fn valid(format: &str, s: &str) -> bool {
    match format {
        "date-time" | "datetime" => matches(&DATE_TIME, s),
        "date" => matches(&DATE, s),
        "uuid" | "uuid3" | "uuid4" | "uuid5" => matches(&UUID, s),
        "hostname" => s.len() <= 255 && matches(&HOSTNAME, s),
        "ipv4" => s.parse::<std::net::Ipv4Addr>().is_ok(),
        "ipv6" => s.parse::<std::net::Ipv6Addr>().is_ok(),
        "byte" => matches(&BYTE, s),
        "duration" => matches(&DURATION, s),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::valid;

    #[test]
    fn format_table() {
        let rows = [
            ("date-time", "2024-01-02T03:04:05Z", true),
            ("date-time", "2024-01-02T03:04:05.123+02:00", true),
            ("date-time", "2024-01-02", false),
            ("date", "2024-01-02", true),
            ("date", "02/01/2024", false),
            ("uuid", "123e4567-e89b-12d3-a456-426614174000", true),
            ("uuid", "not-a-uuid", false),
            ("hostname", "login.example.com", true),
            ("hostname", "-bad-.example.com", false),
            ("ipv4", "10.0.0.1", true),
            ("ipv4", "10.0.0.256", false),
            ("ipv6", "::1", true),
            ("ipv6", "10.0.0.1", false),
            ("byte", "aGVsbG8=", true),
            ("byte", "not base64!", false),
            ("duration", "1h30m", true),
            ("duration", "soon", false),
            ("int32", "anything", true),
        ];
        for (format, value, want) in rows {
            assert_eq!(valid(format, value), want, "{format} {value:?}");
        }
    }
}
