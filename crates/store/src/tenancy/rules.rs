//! Input rules of the tenancy tables, checked in the domain whatever the edge did.

use kluis_core::FieldError;

/// The placeholder a link base carries where the mailed token goes.
pub const TOKEN_PLACEHOLDER: &str = "{token}";
/// The longest link base.
pub const MAX_LINK: usize = 2048;

/// A link base of a mail (`verify_email_url`, `reset_password_url`): an
/// absolute `https` URL (`http` only on localhost, for development), with
/// `{token}` exactly once, no credentials, at most 2048 characters.
pub fn check_link(field: &str, link: &str, errors: &mut Vec<FieldError>) {
    let problem = if link.len() > MAX_LINK {
        Some("must be at most 2048 characters")
    } else if link.matches(TOKEN_PLACEHOLDER).count() != 1 {
        Some("must hold {token} exactly once, where the mailed token goes")
    } else {
        match url::Url::parse(&link.replace(TOKEN_PLACEHOLDER, "token")) {
            Err(_) => Some("must be an absolute URL"),
            Ok(url) => {
                let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
                if !(url.scheme() == "https" || url.scheme() == "http" && local) {
                    Some("must be https (http only on localhost)")
                } else if url.host_str().is_none_or(str::is_empty) {
                    Some("must name a host")
                } else if !url.username().is_empty() || url.password().is_some() {
                    Some("must not hold credentials")
                } else if link.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    Some("must not hold spaces or control characters")
                } else {
                    None
                }
            }
        }
    };
    if let Some(message) = problem {
        errors.push(FieldError::new(field, message));
    }
}

/// The link a mail carries: `base` with its `{token}` replaced by the
/// token, percent-encoded.
pub fn link_with(base: &str, token: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
    base.replacen(TOKEN_PLACEHOLDER, &encoded, 1)
}

/// A display name: 1-200 characters after trimming, no control characters.
pub fn check_name(field: &str, name: &str, errors: &mut Vec<FieldError>) {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 200 {
        errors.push(FieldError::new(field, "must be 1 to 200 characters"));
    } else if name.chars().any(char::is_control) {
        errors.push(FieldError::new(field, "must not contain control characters"));
    }
}

/// A tenant slug: 3-63 of `a-z`, `0-9` and `-`, starting and ending with a
/// letter or digit (usable in URLs and host names).
pub fn check_slug(slug: &str, errors: &mut Vec<FieldError>) {
    let ok_len = (3..=63).contains(&slug.len());
    let ok_chars = slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let ok_ends = slug.bytes().next().is_some_and(|b| b != b'-') && slug.bytes().last().is_some_and(|b| b != b'-');
    if !(ok_len && ok_chars && ok_ends) {
        errors.push(FieldError::new(
            "slug",
            "must be 3 to 63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit",
        ));
    }
}

/// A retention period: an ISO 8601 duration of whole units (`P5Y`, `P18M`, `P30D`).
pub fn check_retention(field: &str, period: &str, errors: &mut Vec<FieldError>) {
    if !kluis_core::validate::is_iso8601_duration(period) {
        errors.push(FieldError::new(field, "must be an ISO 8601 duration such as P5Y, P18M or P30D"));
    }
}

/// A purpose key: 1-64 of `a-z`, `0-9` and `_`, starting with a letter.
pub fn check_purposes(purposes: &[String], errors: &mut Vec<FieldError>) {
    if purposes.len() > 50 {
        errors.push(FieldError::new("purposes", "at most 50 purposes"));
    }
    for (i, key) in purposes.iter().enumerate() {
        let ok = (1..=64).contains(&key.len())
            && key.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            errors.push(FieldError::new(
                format!("purposes[{i}]"),
                "must be 1 to 64 characters of a-z, 0-9 and '_', starting with a letter",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug_ok(s: &str) -> bool {
        let mut errors = vec![];
        check_slug(s, &mut errors);
        errors.is_empty()
    }

    #[test]
    fn slugs() {
        assert!(slug_ok("acme"));
        assert!(slug_ok("repair-shop-2"));
        assert!(!slug_ok("ab"));
        assert!(!slug_ok("-acme"));
        assert!(!slug_ok("acme-"));
        assert!(!slug_ok("Acme"));
        assert!(!slug_ok("ac me"));
    }

    #[test]
    fn names_and_purposes() {
        let mut errors = vec![];
        check_name("name", "  ", &mut errors);
        check_name("name", "a\u{7}b", &mut errors);
        check_name("name", "Acme B.V.", &mut errors);
        assert_eq!(errors.len(), 2);
        let mut errors = vec![];
        check_purposes(&["marketing_email".into(), "Bad".into(), "".into()], &mut errors);
        assert_eq!(errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["purposes[1]", "purposes[2]"]);
    }
}

#[cfg(test)]
mod link_tests {
    use super::*;

    fn problems(link: &str) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check_link("verify_email_url", link, &mut errors);
        errors
    }

    #[test]
    fn link_bases() {
        assert!(problems("https://app.example.nl/verify?token={token}").is_empty());
        assert!(problems("https://app.example.nl/reset/{token}#form").is_empty());
        assert!(problems("http://localhost:5173/verify?token={token}").is_empty());
        for bad in [
            "https://app.example.nl/verify",
            "https://app.example.nl/{token}/{token}",
            "http://app.example.nl/verify?token={token}",
            "javascript:alert(1)//{token}",
            "/verify?token={token}",
            "https://user:pw@app.example.nl/{token}",
            "https://app.example.nl/a b/{token}",
        ] {
            assert_eq!(problems(bad).len(), 1, "{bad}");
        }
        assert_eq!(problems(&format!("https://a.nl/{}{{token}}", "x".repeat(2048))).len(), 1);
    }

    #[test]
    fn the_token_is_encoded_into_its_place() {
        assert_eq!(link_with("https://a.nl/v?token={token}&x=1", "kv_a+b/c"), "https://a.nl/v?token=kv_a%2Bb%2Fc&x=1");
    }
}

/// Most origins one relying party may allow.
pub const MAX_PASSKEY_ORIGINS: usize = 10;

/// Check a tenant's WebAuthn relying party: an RP ID that is a host name
/// with at least two labels (or `localhost`), never an IP address or a lone
/// top-level label; origins that are bare `https://host[:port]` (http only
/// on localhost) whose host is the RP ID or a subdomain of it. Both are set
/// together, or neither (passkeys off).
pub fn check_relying_party(rp_id: Option<&str>, origins: &[String], errors: &mut Vec<FieldError>) {
    let Some(rp_id) = rp_id else {
        if !origins.is_empty() {
            errors.push(FieldError::new("passkey_rp_id", "must be set when passkey_origins are"));
        }
        return;
    };
    let labels_ok = rp_id.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    });
    let numeric = rp_id.split('.').all(|l| l.chars().all(|c| c.is_ascii_digit()));
    if rp_id.len() > 253 || !labels_ok || numeric || !(rp_id == "localhost" || rp_id.contains('.')) {
        errors.push(FieldError::new(
            "passkey_rp_id",
            "must be a lowercase domain name with at least two labels (e.g. example.nl), or localhost",
        ));
        return;
    }
    if origins.is_empty() {
        errors.push(FieldError::new("passkey_origins", "must list at least one origin when passkey_rp_id is set"));
        return;
    }
    if origins.len() > MAX_PASSKEY_ORIGINS {
        errors.push(FieldError::new("passkey_origins", "must list at most 10 origins"));
        return;
    }
    for origin in origins {
        if let Some(message) = origin_problem(rp_id, origin) {
            errors.push(FieldError::new("passkey_origins", message));
            return;
        }
    }
}

fn origin_problem(rp_id: &str, origin: &str) -> Option<&'static str> {
    let Ok(url) = url::Url::parse(origin) else { return Some("each must be an origin such as https://app.example.nl") };
    let Some(host) = url.host_str() else { return Some("each must name a host") };
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if !bare || !url.username().is_empty() || url.password().is_some() || origin.ends_with('/') {
        return Some("each must be a bare origin: scheme, host and port only, no path or trailing slash");
    }
    if !(url.scheme() == "https" || url.scheme() == "http" && host == "localhost") {
        return Some("each must be https (http only on localhost)");
    }
    if host != rp_id && !host.ends_with(&format!(".{rp_id}")) {
        return Some("each origin's host must be passkey_rp_id or a subdomain of it");
    }
    None
}
