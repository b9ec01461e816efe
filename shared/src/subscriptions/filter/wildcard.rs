//! `wildcard` operands: `*` stands for any run of characters; `\*` and `\\` for
//! a literal `*` and `\`; `**` and any other escape are refused, as EventBridge
//! refuses them.

/// A wildcard as literal pieces between its `*`s: it matches a string that
/// starts with the first piece, ends with the last, and holds the others in
/// order between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wildcard {
    pieces: Vec<String>,
}

impl Wildcard {
    /// The operand's pieces; the error says what is wrong and where (0-based
    /// character position).
    pub fn parse(operand: &str, max_stars: usize) -> Result<Self, String> {
        let mut pieces = vec![String::new()];
        let mut chars = operand.chars().enumerate().peekable();
        let mut previous_star = false;
        while let Some((at, c)) = chars.next() {
            match c {
                '*' if previous_star => return Err(format!("consecutive wildcard characters at position {at}")),
                '*' => {
                    pieces.push(String::new());
                    previous_star = true;
                    continue;
                }
                '\\' => match chars.next() {
                    Some((_, escaped @ ('*' | '\\'))) => push(&mut pieces, escaped),
                    _ => {
                        return Err(format!(
                            "invalid escape at position {at}: only \\* and \\\\ are escapes"
                        ));
                    }
                },
                c => push(&mut pieces, c),
            }
            previous_star = false;
        }
        if pieces.len() - 1 > max_stars {
            return Err(format!("more than {max_stars} wildcard characters (*)"));
        }
        Ok(Self { pieces })
    }

    pub fn matches(&self, text: &str) -> bool {
        let (first, rest) = match self.pieces.split_first() {
            Some(split) => split,
            None => return text.is_empty(),
        };
        let Some((last, middle)) = rest.split_last() else {
            return text == first;
        };
        let Some(mut remaining) = text.strip_prefix(first.as_str()) else {
            return false;
        };
        for piece in middle {
            match remaining.find(piece.as_str()) {
                Some(at) => remaining = &remaining[at + piece.len()..],
                None => return false,
            }
        }
        remaining.len() >= last.len() && remaining.ends_with(last.as_str())
    }
}

fn push(pieces: &mut [String], c: char) {
    if let Some(piece) = pieces.last_mut() {
        piece.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        Wildcard::parse(pattern, 10).expect("valid").matches(text)
    }

    #[test]
    fn stars_stand_for_any_run_and_escapes_for_themselves() {
        assert!(matches("*.png", "a.png"));
        assert!(matches("*.png", ".png"));
        assert!(!matches("*.png", "a.png.gz"));
        assert!(matches("a*b*c", "abc"));
        assert!(matches("a*b*c", "a-b-b-c"));
        assert!(!matches("a*b*c", "acb"));
        assert!(matches("", ""));
        assert!(!matches("", "a"));
        assert!(matches(r"a\*b", "a*b"));
        assert!(!matches(r"a\*b", "axb"));
        assert!(matches(r"a\\*", r"a\bc"));
        // The last piece may not overlap a middle one.
        assert!(!matches("ab*ba*ab", "abab"));
    }

    #[test]
    fn consecutive_stars_bad_escapes_and_too_many_stars_are_refused() {
        assert!(Wildcard::parse("a**b", 10).expect_err("refused").contains("position 2"));
        assert!(
            Wildcard::parse(r"a\b", 10)
                .expect_err("refused")
                .contains("invalid escape")
        );
        assert!(
            Wildcard::parse("*:*:*:*", 3)
                .expect_err("refused")
                .contains("more than 3")
        );
    }
}
