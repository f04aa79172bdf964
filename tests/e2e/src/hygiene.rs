//! Secret hygiene: nothing secret may appear in operator logs or Kubernetes Events.

/// Where each secret was found: `(secret label, place, excerpt)`.
pub type Leak = (String, String, String);

/// Finds every occurrence of any `secrets` (label, value) in `text` (named `place`). Empty values
/// are skipped (they would match everywhere).
pub fn find_leaks(secrets: &[(String, String)], place: &str, text: &str) -> Vec<Leak> {
    let mut out = Vec::new();
    for (label, value) in secrets {
        if value.is_empty() {
            continue;
        }
        for (i, _) in text.match_indices(value.as_str()) {
            out.push((label.clone(), place.to_string(), excerpt(text, i)));
        }
    }
    out
}

/// JWT-looking strings (`eyJ…` header, two dots), which is how Auth0 access tokens look.
pub fn find_jwts(place: &str, text: &str) -> Vec<Leak> {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = Vec::new();
    for (i, _) in text.match_indices("eyJ") {
        let rest = &text[i..];
        let token: String = rest.chars().take_while(|c| is_b64(*c) || *c == '.').collect();
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() >= 3 && parts.iter().take(3).all(|p| p.len() >= 8) {
            out.push(("access token (JWT)".into(), place.to_string(), excerpt(text, i)));
        }
    }
    out
}

fn excerpt(text: &str, at: usize) -> String {
    let start = text[..at].char_indices().rev().nth(60).map_or(0, |(i, _)| i);
    let end = text[at..]
        .char_indices()
        .nth(60)
        .map_or(text.len(), |(i, _)| at + i);
    text[start..end].replace('\n', " ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn finds_values_and_jwts() {
        let secrets = vec![
            ("client secret".to_string(), "s3cr3t-value".to_string()),
            ("empty".into(), String::new()),
        ];
        let text = "ok line\nleaked s3cr3t-value here\nBearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlMTIz\n";
        let leaks = find_leaks(&secrets, "log", text);
        assert_eq!(leaks.len(), 1);
        assert!(leaks[0].2.contains("s3cr3t-value"));
        assert_eq!(find_jwts("log", text).len(), 1);
        assert!(find_jwts("log", "eyJ alone and eyJabc.def").is_empty());
    }
}
