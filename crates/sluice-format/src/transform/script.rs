//! Debezium's scripted transforms, `io.debezium.transforms.Filter` and `io.debezium.transforms.ContentBasedRouter`,
//! over a documented subset of their expression languages.
//!
//! Why a subset and not a script engine: Debezium hands the expression to a JSR 223 engine (Groovy, or JavaScript on
//! Graal.js), so a configuration can run any code in the worker. Configurations reach Sluice over REST too, so Sluice
//! evaluates only what such conditions are written with in practice and in Debezium's documentation: the variables
//! Debezium binds (`value`, `key`, `topic`, `headers`), field access (`value.after.id`, `value.before?.id`,
//! `value['op']`, and `value.get('op')`, Struct's own getter, as Debezium's JavaScript example writes it), string,
//! number, boolean and `null` literals, `==`, `!=`, `<`, `<=`, `>`, `>=`, `&&`, `||`, `!`, `? :`, `+` (joining
//! strings) and parentheses. Anything else — other methods, assignments, closures, `new`, string interpolation,
//! `keySchema`/`valueSchema`, other variables — is refused when the configuration is read, with the place where the
//! expression left the subset. The expression is at most [`MAX_LENGTH`] bytes and [`MAX_DEPTH`] levels deep, so the
//! parser, the evaluator and dropping the tree never recurse far, whatever a REST body holds.
//!
//! The subset is the same for `jsr223.groovy` and `jsr223.graal.js` and has Groovy's semantics, which is what
//! Debezium users write against (the documented examples are Groovy): `==` compares numbers by value (`1 == 1.0`),
//! strings by content, `null == null` is true; `<` and friends order `null` below everything (`null < 1` is true,
//! as Groovy's `compareTo` gives), and throw for values of different kinds (`'ab' < 1`), as Groovy does — a record
//! transform error, which stops the pipeline like every other. `&&`, `||`, `!` and `?:`'s condition take Groovy
//! truth (null, `false`, `0`, `''` and an empty array are false) and give booleans. `.` on a null value is an error
//! (Groovy's `NullPointerException`), `?.` gives null; a field the struct does not have is an error (Connect's
//! `Struct.get`). A Filter's result must be a boolean and a router's a string or null, as Debezium checks.
//!
//! How it stays cheap: the expression is parsed once, when the configuration is read; per record only the fields
//! the expression names are looked up, by scanning the encoded JSON's members level by level (`super::fields`),
//! never parsing the rest; a leaf is decoded only when it is a string with escapes.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use regex::Regex;
use sluice_core::{Payload, Record};

use super::fields::{members, name};
use super::java;

/// The longest expression accepted, in bytes.
pub const MAX_LENGTH: usize = 4096;
/// The deepest expression tree accepted (nesting and chained operators alike).
pub const MAX_DEPTH: usize = 64;

/// What Sluice accepts, for refusals.
const SUBSET: &str = "Sluice evaluates a subset: the variables value, key, topic and headers; field access with `.`, \
                      `?.`, `['name']` or `.get('name')`; string, number, true/false and null literals; == != < <= > \
                      >= && || ! ?: + and parentheses (docs/configuration.md, \"Filter and ContentBasedRouter\")";

/// Which transform evaluates the expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptKind {
    /// `io.debezium.transforms.Filter`: `condition`, true keeps the record.
    Filter,
    /// `io.debezium.transforms.ContentBasedRouter`: `topic.expression`, a string is the new topic, null keeps it.
    Router,
}

impl ScriptKind {
    /// The option holding the expression.
    pub fn option(self) -> &'static str {
        match self {
            ScriptKind::Filter => "condition",
            ScriptKind::Router => "topic.expression",
        }
    }
}

/// `null.handling.mode`: what happens to a record whose value is null (a tombstone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NullHandling {
    /// Passed on unchanged, not evaluated (the default).
    Keep,
    /// Removed.
    Drop,
    /// Evaluated like any record, with `value` null.
    Evaluate,
}

/// A field access step.
#[derive(Clone, Debug, PartialEq)]
struct Step {
    field: String,
    /// `?.`: null when the struct is null, instead of an error.
    safe: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Root {
    Value,
    Key,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Compare {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Compare {
    fn symbol(self) -> &'static str {
        match self {
            Compare::Eq => "==",
            Compare::Ne => "!=",
            Compare::Lt => "<",
            Compare::Le => "<=",
            Compare::Gt => ">",
            Compare::Ge => ">=",
        }
    }
}

/// A literal of the expression.
#[derive(Clone, Debug, PartialEq)]
enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    /// A decimal literal, with its text (Groovy prints a `BigDecimal` literal as written).
    Float(f64, String),
    Str(String),
}

#[derive(Debug, PartialEq)]
enum Kind {
    Literal(Literal),
    Topic,
    /// `value` or `key`, then fields.
    Path(Root, Vec<Step>),
    /// `headers.<name>` (the header object, Debezium's `RecordHeader`), with `value` when `.value` follows: `Some`
    /// whether that access is `?.`.
    Header {
        name: String,
        value: Option<bool>,
    },
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare(Compare, Box<Expr>, Box<Expr>),
    Plus(Box<Expr>, Box<Expr>),
    Choose(Box<Expr>, Box<Expr>, Box<Expr>),
}

/// A node of the parsed expression, with the depth of the tree below it.
#[derive(Debug, PartialEq)]
struct Expr {
    kind: Kind,
    depth: usize,
}

/// A parsed expression.
#[derive(Debug, PartialEq)]
pub struct Expression {
    root: Expr,
    reads_key: bool,
    reads_value: bool,
}

/// Why an expression is refused: the byte offset where parsing stopped, and why.
#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    pub at: usize,
    pub message: String,
}

impl ParseError {
    /// The refusal as a configuration problem's text, quoting the expression from where it stopped.
    pub fn describe(&self, expression: &str) -> String {
        let rest: String = expression.get(self.at..).unwrap_or_default().chars().take(40).collect();
        let place = if rest.is_empty() {
            "at its end".to_string()
        } else {
            format!("at character {} (`{rest}`)", expression[..self.at.min(expression.len())].chars().count() + 1)
        };
        // A long expression (one sent over REST, say) is quoted by its start only.
        let quoted = if expression.chars().count() > 120 {
            format!("{}…", expression.chars().take(120).collect::<String>())
        } else {
            expression.to_string()
        };
        format!("`{quoted}` stops {place}: {}. {SUBSET}", self.message)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64, String),
    Dot,
    SafeDot,
    LBracket,
    RBracket,
    LParen,
    RParen,
    Compare(Compare),
    And,
    Or,
    Not,
    Question,
    Colon,
    Plus,
    End,
}

/// Splits the expression into tokens with their byte offsets, refusing what the subset has no token for.
fn tokens(text: &str) -> Result<Vec<(usize, Token)>, ParseError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let refuse = |at: usize, message: &str| Err(ParseError { at, message: message.to_string() });
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let two = bytes.get(i..i + 2).unwrap_or_default();
        let token = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'\'' | b'"' => {
                let (value, end) = string(text, i)?;
                i = end;
                Token::Str(value)
            }
            b'0'..=b'9' => {
                let (token, end) = number(text, i, false)?;
                i = end;
                token
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                Token::Ident(text[start..i].to_string())
            }
            _ if two == b"==" || two == b"!=" || two == b"<=" || two == b">=" => {
                if bytes.get(i + 2) == Some(&b'=') {
                    return refuse(i, "`===` and `!==` are outside the subset; use `==` and `!=`");
                }
                if two == b"<=" && bytes.get(i + 2) == Some(&b'>') {
                    return refuse(i, "the `<=>` operator is outside the subset");
                }
                i += 2;
                Token::Compare(match two {
                    b"==" => Compare::Eq,
                    b"!=" => Compare::Ne,
                    b"<=" => Compare::Le,
                    _ => Compare::Ge,
                })
            }
            _ if two == b"&&" => {
                i += 2;
                Token::And
            }
            _ if two == b"||" => {
                i += 2;
                Token::Or
            }
            _ if two == b"?." => {
                i += 2;
                Token::SafeDot
            }
            _ if two == b"?:" => return refuse(i, "the Elvis operator `?:` is outside the subset; write `a ? a : b`"),
            _ if two == b"?[" => return refuse(i, "safe indexing `?[` is outside the subset; use `?.name`"),
            b'-' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) && negative_allowed(&out) => {
                let (token, end) = number(text, i + 1, true)?;
                i = end;
                token
            }
            b'<' | b'>' => {
                if bytes.get(i + 1) == Some(&c) {
                    return refuse(i, "shift operators are outside the subset");
                }
                i += 1;
                Token::Compare(if c == b'<' { Compare::Lt } else { Compare::Gt })
            }
            b'.' | b'[' | b']' | b'(' | b')' | b'!' | b'?' | b':' => {
                i += 1;
                match c {
                    b'.' => Token::Dot,
                    b'[' => Token::LBracket,
                    b']' => Token::RBracket,
                    b'(' => Token::LParen,
                    b')' => Token::RParen,
                    b'!' => Token::Not,
                    b'?' => Token::Question,
                    _ => Token::Colon,
                }
            }
            b'+' => {
                if bytes.get(i + 1) == Some(&b'+') || bytes.get(i + 1) == Some(&b'=') {
                    return refuse(i, "assignments and `++` are outside the subset");
                }
                i += 1;
                Token::Plus
            }
            b'=' => return refuse(i, "assignments are outside the subset; compare with `==`"),
            b'{' | b'}' => return refuse(i, "closures and blocks are outside the subset"),
            b';' => return refuse(i, "statements are outside the subset; write one expression"),
            b',' => return refuse(i, "argument lists are outside the subset"),
            b'-' | b'*' | b'/' | b'%' => return refuse(i, "arithmetic is outside the subset (`+` joins strings only)"),
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(ParseError { at: i, message: format!("`{ch}` is outside the subset") });
            }
        };
        out.push((start, token));
    }
    out.push((text.len(), Token::End));
    Ok(out)
}

/// Whether a `-` here starts a negative number literal: where an operand is expected, not after one.
fn negative_allowed(before: &[(usize, Token)]) -> bool {
    !matches!(
        before.last(),
        Some((_, Token::Ident(_) | Token::Str(_) | Token::Int(_) | Token::Float(..) | Token::RParen | Token::RBracket))
    )
}

/// A number literal from `start` (after a `-` when `negative`): whole numbers are 64-bit, decimals doubles.
fn number(text: &str, start: usize, negative: bool) -> Result<(Token, usize), ParseError> {
    let bytes = text.as_bytes();
    let mut i = start;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    let mut decimal = false;
    if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
        decimal = true;
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
    }
    if bytes.get(i).is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_') {
        return Err(ParseError {
            at: i,
            message: "number suffixes, exponents and hexadecimal literals are outside the subset".into(),
        });
    }
    let digits = &text[start..i];
    let written = if negative { format!("-{digits}") } else { digits.to_string() };
    let token = if decimal {
        Token::Float(written.parse().unwrap_or(f64::NAN), written)
    } else {
        Token::Int(written.parse().map_err(|_| ParseError {
            at: start,
            message: "a whole number beyond 64 bits is outside the subset".into(),
        })?)
    };
    Ok((token, i))
}

/// A quoted string from its opening quote at `start`: its value and the offset after the closing quote. A `$` in a
/// double-quoted string is Groovy's interpolation and refused.
fn string(text: &str, start: usize) -> Result<(String, usize), ParseError> {
    let quote = text.as_bytes()[start] as char;
    let mut value = String::new();
    let mut chars = text[start + 1..].char_indices().map(|(i, c)| (i + start + 1, c));
    while let Some((i, c)) = chars.next() {
        match c {
            _ if c == quote => return Ok((value, i + 1)),
            '$' if quote == '"' => {
                return Err(ParseError {
                    at: i,
                    message: "`$` in a double-quoted string is Groovy's interpolation, outside the subset; use single \
                              quotes, or `\\$` for a dollar sign"
                        .into(),
                });
            }
            '\\' => {
                let Some((j, escaped)) = chars.next() else { break };
                value.push(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    '\\' | '\'' | '"' | '$' => escaped,
                    'u' => {
                        let hex: String = chars.by_ref().take(4).map(|(_, c)| c).collect();
                        u32::from_str_radix(&hex, 16)
                            .ok()
                            .filter(|_| hex.len() == 4)
                            .and_then(char::from_u32)
                            .ok_or(ParseError { at: j - 1, message: "`\\u` needs four hexadecimal digits".into() })?
                    }
                    other => {
                        return Err(ParseError {
                            at: j - 1,
                            message: format!("the escape `\\{other}` is outside the subset"),
                        })
                    }
                });
            }
            _ => value.push(c),
        }
    }
    Err(ParseError { at: start, message: "the string is not closed".into() })
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    next: usize,
    /// How deep the recursive descent is.
    nesting: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.next].1
    }

    fn at(&self) -> usize {
        self.tokens[self.next].0
    }

    fn bump(&mut self) -> Token {
        let token = self.tokens[self.next].1.clone();
        if self.next + 1 < self.tokens.len() {
            self.next += 1;
        }
        token
    }

    fn fail<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError { at: self.at(), message: message.into() })
    }

    /// A node over `children`, refused when the tree would be deeper than [`MAX_DEPTH`].
    fn node(&self, kind: Kind, at: usize) -> Result<Expr, ParseError> {
        let below = match &kind {
            Kind::Literal(_) | Kind::Topic | Kind::Path(..) | Kind::Header { .. } => 0,
            Kind::Not(a) => a.depth,
            Kind::And(a, b) | Kind::Or(a, b) | Kind::Compare(_, a, b) | Kind::Plus(a, b) => a.depth.max(b.depth),
            Kind::Choose(a, b, c) => a.depth.max(b.depth).max(c.depth),
        };
        if below + 1 > MAX_DEPTH {
            return Err(ParseError {
                at,
                message: format!("the expression is nested more than {MAX_DEPTH} levels deep"),
            });
        }
        Ok(Expr { kind, depth: below + 1 })
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return self.fail(format!("the expression is nested more than {MAX_DEPTH} levels deep"));
        }
        Ok(())
    }

    fn choose(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let at = self.at();
        let condition = self.or()?;
        let result = if *self.peek() == Token::Question {
            self.bump();
            let then = self.choose()?;
            if *self.peek() != Token::Colon {
                return self.fail("`?` needs its `:`");
            }
            self.bump();
            let otherwise = self.choose()?;
            self.node(Kind::Choose(Box::new(condition), Box::new(then), Box::new(otherwise)), at)?
        } else {
            condition
        };
        self.nesting -= 1;
        Ok(result)
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and()?;
        while *self.peek() == Token::Or {
            let at = self.at();
            self.bump();
            let right = self.and()?;
            left = self.node(Kind::Or(Box::new(left), Box::new(right)), at)?;
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.equality()?;
        while *self.peek() == Token::And {
            let at = self.at();
            self.bump();
            let right = self.equality()?;
            left = self.node(Kind::And(Box::new(left), Box::new(right)), at)?;
        }
        Ok(left)
    }

    fn equality(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.relational()?;
        while let Token::Compare(op @ (Compare::Eq | Compare::Ne)) = *self.peek() {
            let at = self.at();
            self.bump();
            let right = self.relational()?;
            left = self.node(Kind::Compare(op, Box::new(left), Box::new(right)), at)?;
        }
        Ok(left)
    }

    fn relational(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.plus()?;
        while let Token::Compare(op @ (Compare::Lt | Compare::Le | Compare::Gt | Compare::Ge)) = *self.peek() {
            let at = self.at();
            self.bump();
            let right = self.plus()?;
            left = self.node(Kind::Compare(op, Box::new(left), Box::new(right)), at)?;
        }
        Ok(left)
    }

    fn plus(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        while *self.peek() == Token::Plus {
            let at = self.at();
            self.bump();
            let right = self.unary()?;
            left = self.node(Kind::Plus(Box::new(left), Box::new(right)), at)?;
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if *self.peek() != Token::Not {
            return self.postfix();
        }
        self.enter()?;
        let at = self.at();
        self.bump();
        let operand = self.unary()?;
        self.nesting -= 1;
        self.node(Kind::Not(Box::new(operand)), at)
    }

    fn postfix(&mut self) -> Result<Expr, ParseError> {
        let at = self.at();
        match self.bump() {
            Token::LParen => {
                let inner = self.choose()?;
                if *self.peek() != Token::RParen {
                    return self.fail("`(` needs its `)`");
                }
                self.bump();
                if matches!(self.peek(), Token::Dot | Token::SafeDot | Token::LBracket) {
                    return self.fail("field access on a parenthesized expression is outside the subset");
                }
                Ok(inner)
            }
            Token::Str(s) => self.literal(Literal::Str(s), at),
            Token::Int(n) => self.literal(Literal::Int(n), at),
            Token::Float(f, text) => self.literal(Literal::Float(f, text), at),
            Token::Ident(word) => match word.as_str() {
                "null" => self.literal(Literal::Null, at),
                "true" => self.literal(Literal::Bool(true), at),
                "false" => self.literal(Literal::Bool(false), at),
                "value" => self.path(Root::Value, at),
                "key" => self.path(Root::Key, at),
                "topic" => {
                    if *self.peek() != Token::End && self.member_follows() {
                        return self.fail("`topic` is a string; its methods and properties are outside the subset");
                    }
                    self.node(Kind::Topic, at)
                }
                "headers" => self.header(at),
                "header" => Err(ParseError {
                    at,
                    message: "the variable is `headers` (Debezium's documentation names it `header`, but binds \
                              `headers`)"
                        .into(),
                }),
                "keySchema" | "valueSchema" => Err(ParseError {
                    at,
                    message: format!("`{word}` is outside the subset: Sluice does not bind Connect schemas"),
                }),
                "new" => Err(ParseError { at, message: "creating objects (`new`) is outside the subset".into() }),
                _ => Err(ParseError {
                    at,
                    message: format!("`{word}` is not a variable of the subset (value, key, topic, headers)"),
                }),
            },
            Token::End => Err(ParseError { at, message: "the expression ends where a value is expected".into() }),
            other => Err(ParseError { at, message: format!("{} where a value is expected", describe(&other)) }),
        }
    }

    fn member_follows(&self) -> bool {
        matches!(self.peek(), Token::Dot | Token::SafeDot | Token::LBracket | Token::LParen)
    }

    fn literal(&mut self, literal: Literal, at: usize) -> Result<Expr, ParseError> {
        if self.member_follows() {
            return self.fail("methods and properties of literals are outside the subset");
        }
        self.node(Kind::Literal(literal), at)
    }

    /// A field name after `.`/`?.`, or `['name']`, or `.get('name')`; `None` when no access follows.
    fn step(&mut self) -> Result<Option<Step>, ParseError> {
        let safe = match self.peek() {
            Token::Dot => false,
            Token::SafeDot => true,
            Token::LBracket => {
                self.bump();
                let Token::Str(field) = self.peek().clone() else {
                    return self.fail("an index must be a quoted field name, as in `value['op']`");
                };
                self.bump();
                if *self.peek() != Token::RBracket {
                    return self.fail("`[` needs its `]`");
                }
                self.bump();
                return Ok(Some(Step { field, safe: false }));
            }
            Token::LParen => return self.fail("calling a value is outside the subset"),
            _ => return Ok(None),
        };
        let dot = self.at();
        self.bump();
        let Token::Ident(field) = self.peek().clone() else {
            return self.fail("a field name must follow `.`");
        };
        self.bump();
        if *self.peek() != Token::LParen {
            return Ok(Some(Step { field, safe }));
        }
        // `.get('name')`: Connect's `Struct.get`, the same field access.
        if field == "get" {
            self.bump();
            if let Token::Str(name) = self.bump() {
                if *self.peek() == Token::RParen {
                    self.bump();
                    return Ok(Some(Step { field: name, safe }));
                }
            }
        }
        Err(ParseError { at: dot, message: format!("method calls (`{field}(…)`) are outside the subset") })
    }

    fn path(&mut self, root: Root, at: usize) -> Result<Expr, ParseError> {
        let mut steps = Vec::new();
        while let Some(step) = self.step()? {
            steps.push(step);
            if steps.len() > MAX_DEPTH {
                return self.fail(format!("a path of more than {MAX_DEPTH} fields is outside the subset"));
            }
        }
        self.node(Kind::Path(root, steps), at)
    }

    fn header(&mut self, at: usize) -> Result<Expr, ParseError> {
        let Some(Step { field: name, .. }) = self.step()? else {
            return self.fail("`headers` must be followed by a header name, as in `headers.name.value`");
        };
        let value = match self.step()? {
            None => None,
            Some(Step { field, safe }) if field == "value" => Some(safe),
            Some(Step { field, .. }) if field == "schema" => {
                return Err(ParseError {
                    at,
                    message: "a header's `schema` is outside the subset: Sluice's headers are text".into(),
                })
            }
            Some(Step { field, .. }) => {
                return Err(ParseError { at, message: format!("a header has `value`, not `{field}`") })
            }
        };
        if self.member_follows() {
            return self.fail("a header's value is text; its fields and methods are outside the subset");
        }
        self.node(Kind::Header { name, value }, at)
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Ident(w) => format!("`{w}`"),
        Token::Str(_) => "a string".into(),
        Token::Int(_) | Token::Float(..) => "a number".into(),
        Token::Dot => "`.`".into(),
        Token::SafeDot => "`?.`".into(),
        Token::LBracket => "`[`".into(),
        Token::RBracket => "`]`".into(),
        Token::LParen => "`(`".into(),
        Token::RParen => "`)`".into(),
        Token::Compare(op) => format!("`{}`", op.symbol()),
        Token::And => "`&&`".into(),
        Token::Or => "`||`".into(),
        Token::Not => "`!`".into(),
        Token::Question => "`?`".into(),
        Token::Colon => "`:`".into(),
        Token::Plus => "`+`".into(),
        Token::End => "the end".into(),
    }
}

impl Expression {
    /// Parses `text`, or says where and why it leaves the subset.
    pub fn parse(text: &str) -> Result<Expression, ParseError> {
        if text.len() > MAX_LENGTH {
            return Err(ParseError {
                at: MAX_LENGTH,
                message: format!("the expression is longer than {MAX_LENGTH} bytes"),
            });
        }
        let mut parser = Parser { tokens: tokens(text)?, next: 0, nesting: 0 };
        if *parser.peek() == Token::End {
            return parser.fail("the expression is empty");
        }
        let root = parser.choose()?;
        if *parser.peek() != Token::End {
            let found = describe(parser.peek());
            return parser.fail(format!("{found} where the expression should end"));
        }
        let (mut reads_key, mut reads_value) = (false, false);
        let mut pending = vec![&root];
        while let Some(e) = pending.pop() {
            match &e.kind {
                Kind::Path(Root::Key, _) => reads_key = true,
                Kind::Path(Root::Value, _) => reads_value = true,
                Kind::Literal(_) | Kind::Topic | Kind::Header { .. } => {}
                Kind::Not(a) => pending.push(a),
                Kind::And(a, b) | Kind::Or(a, b) | Kind::Compare(_, a, b) | Kind::Plus(a, b) => {
                    pending.extend([&**a, &**b]);
                }
                Kind::Choose(a, b, c) => pending.extend([&**a, &**b, &**c]),
            }
        }
        Ok(Expression { root, reads_key, reads_value })
    }

    /// Whether the expression reads the record's key.
    pub fn reads_key(&self) -> bool {
        self.reads_key
    }

    /// Whether the expression reads the record's value.
    pub fn reads_value(&self) -> bool {
        self.reads_value
    }

    /// Evaluates the expression against a record.
    fn evaluate<'a>(&'a self, record: &'a Record) -> Result<Val<'a>, String> {
        let scope = Scope { record, value: json_of(&record.value)?, key: json_of(&record.key)? };
        scope.eval(&self.root)
    }
}

/// The JSON of a key or value, `None` for null; a string or binary payload is not something the subset reads.
fn json_of(payload: &Option<Payload>) -> Result<Option<&[u8]>, String> {
    match payload {
        None => Ok(None),
        Some(Payload::Json(bytes)) | Some(Payload::JsonWithSchema { payload: bytes, .. }) => {
            Ok((bytes.as_slice() != b"null").then_some(bytes.as_slice()))
        }
        Some(Payload::String(_) | Payload::Binary(_)) => {
            Err("the record's key or value is not JSON (the subset reads the json converter's output)".into())
        }
    }
}

/// A value during evaluation: JSON read from the record in place, or a literal's.
#[derive(Clone, Debug, PartialEq)]
enum Val<'a> {
    Null,
    Bool(bool),
    Int(i64),
    /// A double, with its text as Java prints it (the encoder's, or the literal's).
    Float(f64, Cow<'a, str>),
    Str(Cow<'a, str>),
    /// A struct or an array, as JSON.
    Json(&'a [u8]),
    /// A header (Debezium's `RecordHeader`), present.
    Header,
}

impl Val<'_> {
    /// Groovy truth.
    fn truth(&self) -> bool {
        match self {
            Val::Null => false,
            Val::Bool(b) => *b,
            Val::Int(n) => *n != 0,
            Val::Float(f, _) => *f != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::Json(json) => json.first() != Some(&b'[') || array_has_elements(json),
            Val::Header => true,
        }
    }

    /// What the value is, for errors.
    fn kind(&self) -> &'static str {
        match self {
            Val::Null => "null",
            Val::Bool(_) => "a boolean",
            Val::Int(_) | Val::Float(..) => "a number",
            Val::Str(_) => "a string",
            Val::Json(json) if json.first() == Some(&b'[') => "an array",
            Val::Json(_) => "a struct",
            Val::Header => "a header",
        }
    }
}

impl fmt::Display for Val<'_> {
    /// The value as Groovy's `toString` writes it, for string joining and errors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Null => f.write_str("null"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Int(n) => write!(f, "{n}"),
            Val::Float(_, text) => f.write_str(text),
            Val::Str(s) => f.write_str(s),
            Val::Json(json) => f.write_str(&String::from_utf8_lossy(json)),
            Val::Header => f.write_str("RecordHeader"),
        }
    }
}

/// Whether a JSON array has any element (Groovy truth of a list).
fn array_has_elements(json: &[u8]) -> bool {
    json[1..].iter().find(|b| !b.is_ascii_whitespace()) != Some(&b']')
}

/// A JSON value read in place.
fn val_of(json: &[u8]) -> Result<Val<'_>, String> {
    let unreadable = || format!("`{}` is not JSON Sluice can read", String::from_utf8_lossy(json));
    Ok(match json.first() {
        None => return Err(unreadable()),
        Some(b'n') => Val::Null,
        Some(b't') => Val::Bool(true),
        Some(b'f') => Val::Bool(false),
        Some(b'{' | b'[') => Val::Json(json),
        Some(b'"') if json.len() >= 2 => {
            let inner = &json[1..json.len() - 1];
            match std::str::from_utf8(inner) {
                Ok(plain) if !inner.contains(&b'\\') => Val::Str(Cow::Borrowed(plain)),
                _ => Val::Str(Cow::Owned(serde_json::from_slice::<String>(json).map_err(|_| unreadable())?)),
            }
        }
        Some(_) => {
            let text = std::str::from_utf8(json).map_err(|_| unreadable())?;
            match text.parse::<i64>() {
                Ok(n) => Val::Int(n),
                Err(_) => Val::Float(text.parse().map_err(|_| unreadable())?, Cow::Borrowed(text)),
            }
        }
    })
}

struct Scope<'r> {
    record: &'r Record,
    value: Option<&'r [u8]>,
    key: Option<&'r [u8]>,
}

impl<'r> Scope<'r> {
    fn eval(&self, e: &'r Expr) -> Result<Val<'r>, String> {
        Ok(match &e.kind {
            Kind::Literal(literal) => match literal {
                Literal::Null => Val::Null,
                Literal::Bool(b) => Val::Bool(*b),
                Literal::Int(n) => Val::Int(*n),
                Literal::Float(f, text) => Val::Float(*f, Cow::Borrowed(text)),
                Literal::Str(s) => Val::Str(Cow::Borrowed(s)),
            },
            Kind::Topic => Val::Str(Cow::Borrowed(&self.record.topic)),
            Kind::Path(root, steps) => {
                let (start, name) = match root {
                    Root::Value => (self.value, "value"),
                    Root::Key => (self.key, "key"),
                };
                path(start, name, steps)?
            }
            Kind::Header { name, value } => {
                // Debezium collects the headers into a map, so the last of a name wins.
                let found = self.record.headers.iter().rev().find(|(n, _)| n == name);
                match (found, value) {
                    (None, None) | (None, Some(true)) => Val::Null,
                    (None, Some(false)) => {
                        return Err(format!("Cannot get property 'value' on null object (there is no header `{name}`)"))
                    }
                    (Some(_), None) => Val::Header,
                    (Some((_, bytes)), Some(_)) => Val::Str(
                        std::str::from_utf8(bytes)
                            .map(Cow::Borrowed)
                            .map_err(|_| format!("the header `{name}` is not UTF-8 text"))?,
                    ),
                }
            }
            Kind::Not(a) => Val::Bool(!self.eval(a)?.truth()),
            Kind::And(a, b) => Val::Bool(self.eval(a)?.truth() && self.eval(b)?.truth()),
            Kind::Or(a, b) => Val::Bool(self.eval(a)?.truth() || self.eval(b)?.truth()),
            Kind::Compare(op, a, b) => Val::Bool(compare(*op, &self.eval(a)?, &self.eval(b)?)?),
            Kind::Plus(a, b) => plus(self.eval(a)?, self.eval(b)?)?,
            Kind::Choose(c, a, b) => {
                if self.eval(c)?.truth() {
                    self.eval(a)?
                } else {
                    self.eval(b)?
                }
            }
        })
    }
}

/// Follows `steps` from a key or value (`json`, `None` when null).
fn path<'r>(json: Option<&'r [u8]>, root: &str, steps: &[Step]) -> Result<Val<'r>, String> {
    let mut current = match json {
        None => Val::Null,
        Some(json) => val_of(json)?,
    };
    let mut walked = root.to_string();
    for step in steps {
        current = match current {
            Val::Null if step.safe => return Ok(Val::Null),
            Val::Null => {
                return Err(format!(
                    "Cannot get property '{}' on null object (`{walked}` is null; `?.` reads null instead)",
                    step.field
                ))
            }
            Val::Json(json) if json.first() == Some(&b'{') => {
                let fields = members(json).ok_or_else(|| format!("`{walked}` is not JSON Sluice can read"))?;
                let member = fields.iter().find(|m| name(json, m) == step.field.as_str()).ok_or_else(|| {
                    format!("{} is not a valid field name (`{walked}` has no field `{}`)", step.field, step.field)
                })?;
                val_of(&json[member.value.clone()])?
            }
            other => {
                return Err(format!("`{walked}` is {}, which has no field `{}`", other.kind(), step.field));
            }
        };
        walked.push('.');
        walked.push_str(&step.field);
    }
    Ok(current)
}

/// Java's `String.compareTo`: UTF-16 code units.
fn utf16_order(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// A one-character string as Groovy reads it beside a number: the character's code.
fn char_code(s: &str) -> Option<i64> {
    let mut units = s.encode_utf16();
    match (units.next(), units.next()) {
        (Some(unit), None) => Some(i64::from(unit)),
        _ => None,
    }
}

/// Groovy's `compareTo` of two numbers: exact for two whole numbers, as doubles (`Double.compare`) otherwise.
fn number_order(a: &Val, b: &Val) -> Option<Ordering> {
    let as_f64 = |v: &Val| match v {
        Val::Int(n) => Some(*n as f64),
        Val::Float(f, _) => Some(*f),
        _ => None,
    };
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => Some(x.cmp(y)),
        _ => Some(as_f64(a)?.total_cmp(&as_f64(b)?)),
    }
}

/// Groovy's ordering of two values (`DefaultTypeTransformation.compareTo`): `None` when they cannot be ordered.
/// Null is below everything.
fn order(a: &Val, b: &Val) -> Option<Ordering> {
    match (a, b) {
        (Val::Null, Val::Null) => Some(Ordering::Equal),
        (Val::Null, _) => Some(Ordering::Less),
        (_, Val::Null) => Some(Ordering::Greater),
        (Val::Int(_) | Val::Float(..), Val::Int(_) | Val::Float(..)) => number_order(a, b),
        (Val::Int(_) | Val::Float(..), Val::Str(s)) => number_order(a, &Val::Int(char_code(s)?)),
        (Val::Str(s), Val::Int(_) | Val::Float(..)) => number_order(&Val::Int(char_code(s)?), b),
        (Val::Str(x), Val::Str(y)) => Some(utf16_order(x, y)),
        (Val::Bool(x), Val::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn compare(op: Compare, a: &Val, b: &Val) -> Result<bool, String> {
    if matches!(op, Compare::Eq | Compare::Ne) {
        // Groovy's `==`: ordered values compare by order; other pairs are equal only when both are the same
        // struct (Connect's `Struct.equals`, field by field, which the encoded JSON matches).
        let equal = match (a, b) {
            (Val::Json(x), Val::Json(y)) => x == y,
            _ => order(a, b) == Some(Ordering::Equal),
        };
        return Ok(equal == (op == Compare::Eq));
    }
    let Some(ordering) = order(a, b) else {
        return Err(format!("Cannot compare {} `{a}` with {} `{b}` (`{}`)", a.kind(), b.kind(), op.symbol()));
    };
    Ok(match op {
        Compare::Lt => ordering == Ordering::Less,
        Compare::Le => ordering != Ordering::Greater,
        Compare::Gt => ordering == Ordering::Greater,
        Compare::Ge => ordering != Ordering::Less,
        Compare::Eq | Compare::Ne => unreachable!("handled above"),
    })
}

/// `+`: Groovy's `String.plus` (and `Number.plus(String)`, `null + String`) joins the text of both sides.
fn plus<'r>(a: Val<'r>, b: Val<'r>) -> Result<Val<'r>, String> {
    let joinable = |v: &Val| !matches!(v, Val::Json(_) | Val::Header);
    match (&a, &b) {
        (Val::Str(_), _) | (Val::Int(_) | Val::Float(..) | Val::Null, Val::Str(_)) if joinable(&a) && joinable(&b) => {
            Ok(Val::Str(Cow::Owned(format!("{a}{b}"))))
        }
        _ => Err(format!(
            "`+` of {} and {} is outside the subset (it joins strings, with a number or null beside a string)",
            a.kind(),
            b.kind()
        )),
    }
}

/// A configured `Filter` or `ContentBasedRouter`.
#[derive(Debug)]
pub struct Scripted {
    pub kind: ScriptKind,
    expression: Expression,
    /// `topic.regex`, matched against the whole topic.
    topic: Option<Regex>,
    nulls: NullHandling,
    /// The last routed topic, so a table's records share one `Arc`.
    last_topic: Option<Arc<str>>,
}

impl Scripted {
    /// The transform, or the option that is wrong and why.
    pub fn new(
        kind: ScriptKind,
        expression: &str,
        topic_regex: Option<&str>,
        nulls: NullHandling,
    ) -> Result<Scripted, (&'static str, String)> {
        let parsed = Expression::parse(expression).map_err(|e| (kind.option(), e.describe(expression)))?;
        let topic = match topic_regex {
            None => None,
            Some(pattern) => Some(java::regex(pattern, true).map_err(|e| {
                ("topic.regex", format!("`{pattern}` is not a regular expression Sluice can use: {e}"))
            })?),
        };
        Ok(Scripted { kind, expression: parsed, topic, nulls, last_topic: None })
    }

    /// Applies the transform: `Ok(false)` when the record is removed.
    pub fn apply(&mut self, record: &mut Record) -> Result<bool, String> {
        match self.decide(record)? {
            Decision::Keep => Ok(true),
            Decision::Drop => Ok(false),
            Decision::Route(topic) => {
                self.last_topic = Some(topic.clone());
                record.topic = topic;
                Ok(true)
            }
        }
    }

    fn decide(&self, record: &Record) -> Result<Decision, String> {
        if self.topic.as_ref().is_some_and(|t| !t.is_match(&record.topic)) {
            return Ok(Decision::Keep);
        }
        if json_of(&record.value).is_ok_and(|v| v.is_none()) {
            match self.nulls {
                NullHandling::Keep => return Ok(Decision::Keep),
                NullHandling::Drop => return Ok(Decision::Drop),
                NullHandling::Evaluate => {}
            }
        }
        let option = self.kind.option();
        let result = self.expression.evaluate(record).map_err(|e| format!("`{option}`: {e}"))?;
        let wrong = |wanted: &str, other: &Val| {
            format!("Value '{other}' returned by the expression is not a {wanted} (`{option}` gave {})", other.kind())
        };
        Ok(match (self.kind, result) {
            (ScriptKind::Filter, Val::Bool(true)) => Decision::Keep,
            (ScriptKind::Filter, Val::Bool(false)) => Decision::Drop,
            (ScriptKind::Filter, Val::Null) => {
                return Err(format!("`{option}` gave null, not a boolean (Debezium: NullPointerException)"))
            }
            (ScriptKind::Filter, other) => return Err(wrong("Boolean", &other)),
            (ScriptKind::Router, Val::Null) => Decision::Keep,
            (ScriptKind::Router, Val::Str(topic)) if topic.is_empty() => {
                return Err(format!("`{option}` gave an empty topic name"))
            }
            (ScriptKind::Router, Val::Str(topic)) if *record.topic == *topic => Decision::Keep,
            (ScriptKind::Router, Val::Str(topic)) => Decision::Route(match &self.last_topic {
                Some(last) if **last == *topic => last.clone(),
                _ => Arc::from(topic.as_ref()),
            }),
            (ScriptKind::Router, other) => return Err(wrong("String", &other)),
        })
    }
}

/// What a scripted transform does with a record.
enum Decision {
    Keep,
    Drop,
    Route(Arc<str>),
}

#[cfg(test)]
mod tests;
