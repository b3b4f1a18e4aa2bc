//! SCIM filters (RFC 7644 §3.4.2.2), the subset IAS clients use: `eq ne co sw ew gt ge lt le pr`,
//! `and`, `or`, `not (…)` and parentheses. Attribute names are case-insensitive and may carry a
//! schema URN prefix (`urn:ietf:params:scim:schemas:extension:sap:2.0:User:sourceSystem`).
//! String comparisons are case-insensitive except for `id`, as IAS treats `userName` and e-mails.

use chrono::{DateTime, Utc};

/// A value of a resource attribute, as a filter sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Str(String),
    Num(f64),
    Bool(bool),
    Date(DateTime<Utc>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    Cmp { attr: String, op: Op, value: Lit },
    Present(String),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

/// Why a filter cannot be parsed or evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum FilterError {
    #[error("the filter is empty")]
    Empty,
    #[error("unterminated string")]
    UnterminatedString,
    #[error("expected '('")]
    ExpectedOpen,
    #[error("expected ')'")]
    ExpectedClose,
    #[error("expected an attribute name, found {0}")]
    ExpectedAttribute(String),
    #[error("expected an attribute name")]
    MissingAttribute,
    #[error("expected an operator after '{0}'")]
    ExpectedOperator(String),
    #[error("unknown operator '{0}'")]
    UnknownOperator(String),
    #[error("'{0}' is not a value (strings are quoted)")]
    NotAValue(String),
    #[error("expected a value after '{0}'")]
    ExpectedValue(String),
    #[error("unexpected {0}")]
    Unexpected(String),
    #[error("the attribute '{0}' is not supported in filters")]
    UnsupportedAttribute(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, FilterError> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Tok::Open);
            }
            ')' => {
                chars.next();
                out.push(Tok::Close);
            }
            '"' | '\'' => {
                let quote = c;
                chars.next();
                let mut v = String::new();
                loop {
                    match chars.next() {
                        None => return Err(FilterError::UnterminatedString),
                        Some('\\') => match chars.next() {
                            Some(e) => v.push(e),
                            None => return Err(FilterError::UnterminatedString),
                        },
                        Some(ch) if ch == quote => break,
                        Some(ch) => v.push(ch),
                    }
                }
                out.push(Tok::Str(v));
            }
            _ => {
                let mut w = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_whitespace() || ch == '(' || ch == ')' || ch == '"' {
                        break;
                    }
                    w.push(ch);
                    chars.next();
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.pos += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn group(&mut self) -> Result<Filter, FilterError> {
        match self.next() {
            Some(Tok::Open) => {}
            _ => return Err(FilterError::ExpectedOpen),
        }
        let f = self.or()?;
        match self.next() {
            Some(Tok::Close) => Ok(f),
            _ => Err(FilterError::ExpectedClose),
        }
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        if self.peek_word("not") {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.group()?)));
        }
        if matches!(self.toks.get(self.pos), Some(Tok::Open)) {
            return self.group();
        }
        let attr = match self.next() {
            Some(Tok::Word(w)) => w,
            Some(t) => return Err(FilterError::ExpectedAttribute(format!("{t:?}"))),
            None => return Err(FilterError::MissingAttribute),
        };
        let op = match self.next() {
            Some(Tok::Word(w)) => w.to_ascii_lowercase(),
            _ => return Err(FilterError::ExpectedOperator(attr)),
        };
        let op = match op.as_str() {
            "pr" => return Ok(Filter::Present(attr.to_ascii_lowercase())),
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            other => return Err(FilterError::UnknownOperator(other.to_string())),
        };
        let value = match self.next() {
            Some(Tok::Str(s)) => Lit::Str(s),
            Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "true" => Lit::Bool(true),
                "false" => Lit::Bool(false),
                "null" => Lit::Null,
                _ => Lit::Num(w.parse().map_err(|_| FilterError::NotAValue(w.clone()))?),
            },
            _ => return Err(FilterError::ExpectedValue(attr)),
        };
        Ok(Filter::Cmp {
            attr: attr.to_ascii_lowercase(),
            op,
            value,
        })
    }
}

impl Filter {
    /// Parses a filter expression.
    pub(crate) fn parse(s: &str) -> Result<Filter, FilterError> {
        let mut p = Parser {
            toks: tokenize(s)?,
            pos: 0,
        };
        if p.toks.is_empty() {
            return Err(FilterError::Empty);
        }
        let f = p.or()?;
        if p.pos < p.toks.len() {
            return Err(FilterError::Unexpected(format!("{:?}", p.toks[p.pos])));
        }
        Ok(f)
    }

    /// Evaluates against a resource; `get` returns the values of a (lowercase, URN-stripped)
    /// attribute, or an error for an attribute the resource type does not have.
    pub(crate) fn matches(
        &self,
        get: &dyn Fn(&str) -> Result<Vec<Val>, FilterError>,
    ) -> Result<bool, FilterError> {
        Ok(match self {
            Filter::And(a, b) => a.matches(get)? && b.matches(get)?,
            Filter::Or(a, b) => a.matches(get)? || b.matches(get)?,
            Filter::Not(a) => !a.matches(get)?,
            Filter::Present(attr) => get(strip_urn(attr))?.iter().any(|v| match v {
                Val::Str(s) => !s.is_empty(),
                _ => true,
            }),
            Filter::Cmp { attr, op, value } => {
                // `id` and `externalId` are caseExact (RFC 7643 §3.1).
                let case_exact = matches!(strip_urn(attr), "id" | "externalid");
                let vals = get(strip_urn(attr))?;
                if *op == Op::Ne {
                    !vals.iter().any(|v| compare(v, Op::Eq, value, case_exact))
                } else {
                    vals.iter().any(|v| compare(v, *op, value, case_exact))
                }
            }
        })
    }

    /// The attributes the filter names (for error messages and tests).
    #[cfg(test)]
    fn attrs(&self) -> Vec<String> {
        match self {
            Filter::Cmp { attr, .. } | Filter::Present(attr) => vec![strip_urn(attr).to_string()],
            Filter::And(a, b) | Filter::Or(a, b) => {
                let mut v = a.attrs();
                v.extend(b.attrs());
                v
            }
            Filter::Not(a) => a.attrs(),
        }
    }
}

/// Removes a known schema URN from an attribute path: the core User/Group schemas, SAP's user
/// extension and the custom group extension.
pub(crate) fn strip_urn(attr: &str) -> &str {
    const PREFIXES: [&str; 4] = [
        "urn:ietf:params:scim:schemas:core:2.0:user:",
        "urn:ietf:params:scim:schemas:core:2.0:group:",
        "urn:ietf:params:scim:schemas:extension:sap:2.0:user:",
        "urn:sap:cloud:scim:schemas:extension:custom:2.0:group:",
    ];
    for p in PREFIXES {
        if let Some(rest) = attr.strip_prefix(p) {
            return rest;
        }
        // Some clients join the URN and the attribute with a dot instead of a colon.
        if let Some(rest) = attr
            .strip_prefix(&p[..p.len() - 1])
            .and_then(|r| r.strip_prefix('.'))
        {
            return rest;
        }
    }
    attr
}

fn compare(v: &Val, op: Op, lit: &Lit, case_exact: bool) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (v, lit) {
        (_, Lit::Null) => return false,
        (Val::Str(s), Lit::Str(l)) => {
            let (s, l) = if case_exact {
                (s.clone(), l.clone())
            } else {
                (s.to_lowercase(), l.to_lowercase())
            };
            match op {
                Op::Co => return s.contains(&l),
                Op::Sw => return s.starts_with(&l),
                Op::Ew => return s.ends_with(&l),
                _ => Some(s.cmp(&l)),
            }
        }
        (Val::Str(s), Lit::Num(n)) => s.parse::<f64>().ok().and_then(|x| x.partial_cmp(n)),
        (Val::Num(x), Lit::Num(n)) => x.partial_cmp(n),
        (Val::Num(x), Lit::Str(l)) => l.trim().parse::<f64>().ok().and_then(|n| x.partial_cmp(&n)),
        (Val::Bool(b), Lit::Bool(l)) => Some(b.cmp(l)),
        (Val::Bool(b), Lit::Str(l)) => l.parse::<bool>().ok().map(|l| b.cmp(&l)),
        (Val::Date(d), Lit::Str(l)) => DateTime::parse_from_rfc3339(l)
            .ok()
            .map(|l| d.cmp(&l.with_timezone(&Utc))),
        _ => None,
    };
    let Some(ord) = ord else {
        return false;
    };
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
        Op::Co | Op::Sw | Op::Ew => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn user(attr: &str) -> Result<Vec<Val>, FilterError> {
        Ok(match attr {
            "id" => vec![Val::Str("AbC".into())],
            "username" => vec![Val::Str("JDoe".into())],
            "emails.value" | "emails" => vec![
                Val::Str("j.doe@acme.example".into()),
                Val::Str("jd@private.example".into()),
            ],
            "sourcesystem" => vec![Val::Num(101.0)],
            "sourcesystemid" => vec![Val::Str("ACME".into())],
            "active" => vec![Val::Bool(true)],
            "meta.lastmodified" => vec![Val::Date(
                DateTime::parse_from_rfc3339("2025-07-10T08:00:00Z")
                    .unwrap()
                    .with_timezone(&Utc),
            )],
            "displayname" => vec![],
            other => return Err(FilterError::UnsupportedAttribute(other.to_string())),
        })
    }

    fn m(f: &str) -> bool {
        Filter::parse(f).unwrap().matches(&user).unwrap()
    }

    #[test]
    fn the_lms_sync_filter_and_its_variants() {
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:sap:2.0:User:sourceSystem eq 101 and urn:ietf:params:scim:schemas:extension:sap:2.0:User:sourceSystemId eq "ACME""#
        ));
        assert!(m(r#"sourceSystem eq "101" AND sourceSystemId eq "acme""#));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:sap:2.0:User.sourceSystemId eq "ACME""#
        ));
        assert!(!m(r#"sourceSystem eq 100 and sourceSystemId eq "ACME""#));
        assert!(m(r#"userName eq "jdoe""#));
        assert!(m("userName eq 'jdoe'"));
        assert!(m(r#"emails.value eq "JD@private.example""#));
        assert!(!m(r#"id eq "abc""#), "id is case-exact");
        assert!(m(r#"meta.lastModified gt "2025-07-08T00:00:00Z""#));
        assert!(!m(r#"meta.lastModified gt "2025-07-11T00:00:00Z""#));
        assert!(m(
            r#"userName sw "jd" and not (userName eq "x") or active eq false"#
        ));
        assert!(m(
            r#"(userName eq "x" or userName co "oe") and active eq true"#
        ));
        assert!(m("userName pr") && !m("displayName pr"));
        assert!(m(r#"userName ne "x""#) && !m(r#"emails ne "jd@private.example""#));
    }

    #[test]
    fn bad_filters_are_errors() {
        for f in [
            "",
            "userName",
            "userName eq",
            "userName xx \"a\"",
            "userName eq \"a",
            "(userName eq \"a\"",
            "userName eq bare",
        ] {
            assert!(Filter::parse(f).is_err(), "{f}");
        }
        let f = Filter::parse("nickName eq \"x\"").unwrap();
        assert!(f.matches(&user).is_err());
        assert_eq!(
            Filter::parse("a eq 1 and (b pr or not (c eq \"x\"))")
                .unwrap()
                .attrs(),
            ["a", "b", "c"]
        );
    }
}
