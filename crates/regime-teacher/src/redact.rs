//! Secrets in teacher URLs, kept out of everything regime writes or prints.
//!
//! The API key travels in a header (see [`crate::ApiKey`]), but a URL can
//! carry credentials too: userinfo (`http://user:password@host`) or a key in
//! the query (`?api-key=…`, Azure's style). Manifests, logs, error messages
//! and per-field causes show URLs only through [`redact_url`].

/// What a secret is replaced with.
pub const REDACTED: &str = "***";

/// Query parameters whose value is a secret (compared case-insensitively).
const SECRET_PARAMS: [&str; 9] = [
    "api-key",
    "api_key",
    "apikey",
    "key",
    "token",
    "access_token",
    "secret",
    "password",
    "sig",
];

/// `text` with the userinfo and secret query values of every URL in it
/// (anything after a `://`, up to whitespace or a quote or bracket)
/// replaced by [`REDACTED`]; all else is kept byte for byte, so a redacted
/// URL still names its host, port and path.
#[must_use]
pub fn redact_url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '(' | ')' | '<' | '>'))
            .unwrap_or(tail.len());
        let (url, after) = tail.split_at(end);
        redact_one(url, &mut out);
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Redacts one URL without its scheme (`user:pw@host/path?query#frag`).
fn redact_one(url: &str, out: &mut String) {
    let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
    let (authority, rest) = url.split_at(authority_end);
    match authority.rfind('@') {
        Some(at) => {
            out.push_str(REDACTED);
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let (before_fragment, fragment) = match rest.find('#') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let Some((path, query)) = before_fragment.split_once('?') else {
        out.push_str(rest);
        return;
    };
    out.push_str(path);
    out.push('?');
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((name, _))
                if SECRET_PARAMS
                    .iter()
                    .any(|secret| name.eq_ignore_ascii_case(secret)) =>
            {
                out.push_str(name);
                out.push('=');
                out.push_str(REDACTED);
            }
            _ => out.push_str(pair),
        }
    }
    out.push_str(fragment);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_and_key_parameters_are_redacted() {
        assert_eq!(
            redact_url("http://user:hunter2@host:8000/v1"),
            "http://***@host:8000/v1"
        );
        assert_eq!(redact_url("https://tok@h"), "https://***@h");
        assert_eq!(
            redact_url("https://h/openai?api-version=2024&api-key=s3cret#x"),
            "https://h/openai?api-version=2024&api-key=***#x"
        );
        assert_eq!(
            redact_url("--teacher-url=http://a:b@h/p?Token=t"),
            "--teacher-url=http://***@h/p?Token=***"
        );
        // Free text: every URL in it, the rest untouched.
        assert_eq!(
            redact_url("error sending request for url (http://u:p@h/v1/models): refused"),
            "error sending request for url (http://***@h/v1/models): refused"
        );
        // An @ in the path is not userinfo; URLs without secrets are kept.
        for plain in [
            "http://h:8000/v1",
            "http://h/a@b",
            "no url here",
            "http://h/?q=1",
        ] {
            assert_eq!(redact_url(plain), plain);
        }
    }
}
