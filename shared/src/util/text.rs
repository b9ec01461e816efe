//! Checks on text that ends up where people read it: e-mail addresses, links
//! put in e-mails, and ids shown in the console and in subscribers' messages.

const MAX_EMAIL_LEN: usize = 254;

/// Enough to catch a slip (SendGrid checks deliverability): one `@`, a dotted
/// domain, at most 254 characters, nothing that would break a header or hide
/// itself. openapi.yaml's `from_email` pattern states the same rule.
pub fn is_email_address(email: &str) -> bool {
    email.chars().count() <= MAX_EMAIL_LEN
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_invisible(c) || "<>\",;".contains(c))
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.contains('@'))
}

/// Whether `link` may go in an e-mail: an absolute `https://` URL with a host
/// (`javascript:`, `data:`, `http:` and relative links may not).
pub fn is_https_link(link: &str) -> bool {
    let Some(rest) = link
        .get(..8)
        .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
        .map(|_| &link[8..])
    else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    !host.is_empty()
        && !link
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_invisible(c))
}

/// Characters that change how text around them displays without showing
/// themselves: bidirectional overrides, embeddings, isolates and marks, and
/// zero-width ones. An id holding them reads as another id in the console and
/// in logs ("Trojan Source", CVE-2021-42574).
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{061C}'                // Arabic letter mark
        | '\u{200B}'..='\u{200F}' // zero-width space, non-joiner, joiner; LTR and RTL marks
        | '\u{202A}'..='\u{202E}' // embeddings and overrides
        | '\u{2060}'..='\u{2064}' // word joiner and invisible operators
        | '\u{2066}'..='\u{2069}' // isolates
        | '\u{FEFF}'              // zero-width no-break space
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_for_slips() {
        for good in ["ann@example.com", "a.b+tag@shop.example.co.uk"] {
            assert!(is_email_address(good), "{good}");
        }
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@example",
            "ann@@example.com",
            "ann smith@example.com",
            "ann@example.com\r\nBcc: x@y.z",
            "<ann@example.com>",
            "ann\u{202E}@example.com",
        ] {
            assert!(!is_email_address(bad), "{bad:?}");
        }
        assert!(!is_email_address(&format!("{}@example.com", "a".repeat(250))));
    }

    #[test]
    fn only_https_links_with_a_host_go_in_e_mails() {
        for good in [
            "https://shop.example/p/1",
            "HTTPS://shop.example",
            "https://shop.example?x=1",
        ] {
            assert!(is_https_link(good), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            "data:text/html;base64,PHNjcmlwdD4=",
            "http://shop.example/p/1",
            "/relative/link",
            "https://",
            "https:///path",
            "https://shop.example/p 1",
            "//shop.example/p/1",
            "",
        ] {
            assert!(!is_https_link(bad), "{bad:?}");
        }
    }

    #[test]
    fn bidi_controls_and_zero_width_characters_are_invisible() {
        for c in [
            '\u{202E}', '\u{2066}', '\u{200B}', '\u{200D}', '\u{FEFF}', '\u{061C}', '\u{200F}',
        ] {
            assert!(is_invisible(c), "{c:?}");
        }
        for c in ['a', 'é', '中', '-', ' ', '\u{00A0}'] {
            assert!(!is_invisible(c), "{c:?}");
        }
    }
}
