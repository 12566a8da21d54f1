//! Turning a path pattern as users write it (`/users/{id:int}`) into a matchit route
//! (`/users/{id}`) plus the converter of each parameter, in path order.

use std::fmt::Write as _;

/// How a parameter's (percent-decoded) text is checked and turned into a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Converter {
    /// `{name}` or `{name:str}`: any non-empty segment.
    Str,
    /// `{name:int}`: optional '-' then ASCII digits, fitting an `i64`.
    Int,
    /// `{name:float}`: a finite `f64`.
    Float,
    /// `{name:uuid}`: 8-4-4-4-12 hex digits, any case.
    Uuid,
    /// `{*name}` or `{name:path}`: the rest of the path, slashes included.
    Path,
}

impl Converter {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "str" => Self::Str,
            "int" => Self::Int,
            "float" => Self::Float,
            "uuid" => Self::Uuid,
            "path" => Self::Path,
            _ => return None,
        })
    }
}

/// One parameter of a pattern: its name and converter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParamSpec {
    pub(crate) name: Box<str>,
    pub(crate) converter: Converter,
}

/// A parsed pattern: what to give matchit and how to convert what it captures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    /// The route in matchit 0.8 syntax, converters stripped.
    pub(crate) route: String,
    pub(crate) params: Vec<ParamSpec>,
}

/// Why a pattern could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PatternError {
    UnknownConverter(String),
    /// A sentence telling the user what is wrong and what to write instead.
    Invalid(String),
}

/// Parses a pattern that already starts with '/'.
///
/// `{{` and `}}` are literal braces (matchit's escapes, passed through). Static text that is
/// not visible ASCII is percent-encoded, because lookups see the raw request target, where a
/// client sends `/caf%C3%A9` for `/café`.
pub(crate) fn parse(path: &str) -> Result<Pattern, PatternError> {
    let mut route = String::with_capacity(path.len());
    let mut params: Vec<ParamSpec> = Vec::new();
    let mut rest = path;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("{{") || rest.starts_with("}}") {
            route.push_str(&rest[..2]);
            rest = &rest[2..];
        } else if c == '{' {
            let close = rest.find('}').ok_or_else(|| {
                PatternError::Invalid(
                    "unclosed '{': close the parameter with '}', or write '{{' for a literal brace"
                        .into(),
                )
            })?;
            let spec = parse_param(&rest[1..close])?;
            if params.iter().any(|p| p.name == spec.name) {
                return Err(PatternError::Invalid(format!(
                    "parameter '{}' appears twice: give each parameter its own name",
                    spec.name
                )));
            }
            let star = if spec.converter == Converter::Path {
                "*"
            } else {
                ""
            };
            let _ = write!(route, "{{{star}{}}}", spec.name);
            params.push(spec);
            rest = &rest[close + 1..];
        } else if c == '}' {
            return Err(PatternError::Invalid(
                "unmatched '}': write '}}' for a literal brace".into(),
            ));
        } else {
            if c.is_ascii_graphic() {
                route.push(c);
            } else {
                let mut buffer = [0; 4];
                for byte in c.encode_utf8(&mut buffer).bytes() {
                    let _ = write!(route, "%{byte:02X}");
                }
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    Ok(Pattern { route, params })
}

/// Parses the inside of `{...}`: `name`, `name:converter` or `*name`.
fn parse_param(body: &str) -> Result<ParamSpec, PatternError> {
    if body.contains('{') {
        return Err(PatternError::Invalid(
            "'{' inside a parameter: close the parameter with '}' first".into(),
        ));
    }
    let (name, converter) = if let Some(name) = body.strip_prefix('*') {
        if name.contains(':') {
            return Err(PatternError::Invalid(format!(
                "catch-all '{{{body}}}' cannot take a converter: write '{{*name}}' or '{{name:path}}'"
            )));
        }
        (name, Converter::Path)
    } else {
        match body.split_once(':') {
            None => (body, Converter::Str),
            Some((name, converter)) => (
                name,
                Converter::from_name(converter)
                    .ok_or_else(|| PatternError::UnknownConverter(converter.to_owned()))?,
            ),
        }
    };
    if !is_identifier(name) {
        return Err(PatternError::Invalid(format!(
            "parameter name '{name}' in '{{{body}}}' must be an identifier \
             (letters, digits and '_', not starting with a digit)"
        )));
    }
    Ok(ParamSpec {
        name: name.into(),
        converter,
    })
}

/// Parameter names become Python keyword arguments, so they must be identifiers.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first == '_' || first.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, converter: Converter) -> ParamSpec {
        ParamSpec {
            name: name.into(),
            converter,
        }
    }

    #[test]
    fn strips_converters_and_keeps_them_in_order() {
        let pattern = parse("/u/{id:int}/{n:float}/{k:uuid}/{s:str}/{p:path}").unwrap();
        assert_eq!(pattern.route, "/u/{id}/{n}/{k}/{s}/{*p}");
        assert_eq!(
            pattern.params,
            [
                spec("id", Converter::Int),
                spec("n", Converter::Float),
                spec("k", Converter::Uuid),
                spec("s", Converter::Str),
                spec("p", Converter::Path),
            ]
        );
    }

    #[test]
    fn catch_all_and_escapes_pass_through() {
        let pattern = parse("/{{literal}}/{*rest}").unwrap();
        assert_eq!(pattern.route, "/{{literal}}/{*rest}");
        assert_eq!(pattern.params, [spec("rest", Converter::Path)]);
    }

    #[test]
    fn static_text_outside_visible_ascii_is_percent_encoded() {
        assert_eq!(parse("/café/a b").unwrap().route, "/caf%C3%A9/a%20b");
        assert_eq!(
            parse("/already%20encoded").unwrap().route,
            "/already%20encoded"
        );
    }

    #[test]
    fn rejects_malformed_patterns() {
        assert_eq!(
            parse("/x/{id:integer}"),
            Err(PatternError::UnknownConverter("integer".into()))
        );
        for bad in [
            "/{id",
            "/id}",
            "/{}",
            "/{:int}",
            "/{1x}",
            "/{a b}",
            "/{*r:int}",
            "/{a}/{a}",
            "/{a{b}",
        ] {
            assert!(matches!(parse(bad), Err(PatternError::Invalid(_))), "{bad}");
        }
    }
}
