//! The JMESPath runtime every mapping runs on: the standard built-ins plus Crosswalk's
//! extension library, and a load-time check of every function call in an expression.
//!
//! Standard JMESPath cannot build objects with dynamic keys, concatenate strings, branch, or
//! do arithmetic, all of which response mapping needs. The extensions below fill those gaps,
//! using the JMESPath Community names where the community spec has the function.
//!
//! Conventions shared by every extension (`docs/functions.md` states them for authors):
//!
//! - **Null in, null out.** A null (or missing) required argument makes the result null, so a
//!   mapping over a sparse record yields null fields instead of failing the whole record.
//!   Functions whose purpose is to handle nulls (`coalesce`, `concat`, `if`, `get`, `compact`)
//!   say what they do instead.
//! - **Wrong type, runtime error.** An argument of the wrong type is a JMESPath
//!   `InvalidType` runtime error whose text names the function, e.g. "Argument 1 expects type
//!   string (in `split`), given number". Positions count from 0, as in the built-ins' errors.
//! - **Objects come out sorted by key**, because the interpreter's objects are `BTreeMap`s.
//! - Arguments are values, so every argument is evaluated before the function runs (both
//!   branches of `if` included).

// The definition loader is this module's first caller; until it lands only the tests use it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use jmespath::ast::Ast;
use jmespath::functions::Function;
use jmespath::{
    Context, ErrorReason, JmespathError, Rcvar, Runtime, RuntimeError, SearchResult, Variable,
};
use serde_json::Number;

use self::decimal::Decimal;

// ---------------------------------------------------------------------------------------------
// The crate-facing API
// ---------------------------------------------------------------------------------------------

/// How many arguments a function takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arity {
    pub(crate) min: usize,
    /// `None` means variadic: any number of arguments from `min` up.
    pub(crate) max: Option<usize>,
}

impl Arity {
    const fn exactly(count: usize) -> Self {
        Arity {
            min: count,
            max: Some(count),
        }
    }

    const fn between(min: usize, max: usize) -> Self {
        Arity {
            min,
            max: Some(max),
        }
    }

    const fn at_least(min: usize) -> Self {
        Arity { min, max: None }
    }

    fn accepts(self, count: usize) -> bool {
        count >= self.min && self.max.is_none_or(|max| count <= max)
    }
}

/// Reads as the object of "takes": "1 argument", "2 or 3 arguments", "at least 1 argument".
impl fmt::Display for Arity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Arity { min, max } = *self;
        match max {
            Some(0) => f.write_str("no arguments"),
            Some(max) if max == min => write!(f, "{min} {}", plural(min)),
            Some(max) if max == min + 1 => write!(f, "{min} or {max} arguments"),
            Some(max) => write!(f, "{min} to {max} arguments"),
            None if min == 0 => f.write_str("any number of arguments"),
            None => write!(f, "at least {min} {}", plural(min)),
        }
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 {
        "argument"
    } else {
        "arguments"
    }
}

/// The shared runtime: JMESPath built-ins plus Crosswalk's extensions. Built once.
pub(crate) fn runtime() -> &'static Runtime {
    static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
        let mut runtime = Runtime::new();
        runtime.register_builtin_functions();
        for extension in EXTENSIONS {
            runtime.register_function(extension.name, Box::new(*extension));
        }
        runtime
    });
    &RUNTIME
}

/// How many arguments a function (built-in or extension) takes; `None` if unknown.
pub(crate) fn arity(name: &str) -> Option<Arity> {
    EXTENSIONS
        .iter()
        .find(|extension| extension.name == name)
        .map(|extension| extension.arity)
        .or_else(|| {
            BUILTINS
                .iter()
                .find(|(builtin, _)| *builtin == name)
                .map(|(_, arity)| *arity)
        })
}

/// Every known function name (built-ins, then extensions), for "did you mean" hints.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    BUILTINS
        .iter()
        .map(|(name, _)| *name)
        .chain(EXTENSIONS.iter().map(|extension| extension.name))
}

/// Checks a parsed expression: every function call names a known function with a valid
/// number of arguments.
///
/// Returns `(byte offset in the expression, message)` for each fault, in expression order.
/// The offset is where the function's name starts (derived from the position of its `(`, so
/// it is off when the name is quoted or followed by spaces).
pub(crate) fn check(ast: &Ast) -> Vec<(usize, String)> {
    let mut faults = Vec::new();
    check_node(ast, &mut faults);
    faults.sort_by_key(|(offset, _)| *offset);
    faults
}

// ---------------------------------------------------------------------------------------------
// The function tables
// ---------------------------------------------------------------------------------------------

/// JMESPath's standard functions as `jmespath` 0.5 registers them.
const BUILTINS: &[(&str, Arity)] = &[
    ("abs", Arity::exactly(1)),
    ("avg", Arity::exactly(1)),
    ("ceil", Arity::exactly(1)),
    ("contains", Arity::exactly(2)),
    ("ends_with", Arity::exactly(2)),
    ("floor", Arity::exactly(1)),
    ("join", Arity::exactly(2)),
    ("keys", Arity::exactly(1)),
    ("length", Arity::exactly(1)),
    ("map", Arity::exactly(2)),
    ("max", Arity::exactly(1)),
    ("max_by", Arity::exactly(2)),
    ("merge", Arity::at_least(1)),
    ("min", Arity::exactly(1)),
    ("min_by", Arity::exactly(2)),
    ("not_null", Arity::at_least(1)),
    ("reverse", Arity::exactly(1)),
    ("sort", Arity::exactly(1)),
    ("sort_by", Arity::exactly(2)),
    ("starts_with", Arity::exactly(2)),
    ("sum", Arity::exactly(1)),
    ("to_array", Arity::exactly(1)),
    ("to_number", Arity::exactly(1)),
    ("to_string", Arity::exactly(1)),
    ("type", Arity::exactly(1)),
    ("values", Arity::exactly(1)),
];

/// Crosswalk's extensions. Each implementation below documents its behaviour.
const EXTENSIONS: &[Extension] = &[
    // Objects.
    Extension::new("items", Arity::exactly(1), items),
    Extension::new("from_items", Arity::exactly(1), from_items),
    Extension::new("object", Arity::at_least(0), object),
    Extension::new("get", Arity::between(2, 3), get),
    Extension::new(
        "entries_with_prefix",
        Arity::exactly(2),
        entries_with_prefix,
    ),
    Extension::new("with_key_prefix", Arity::exactly(2), with_key_prefix),
    Extension::new("compact_object", Arity::exactly(1), compact_object),
    Extension::new("rename_keys", Arity::exactly(2), rename_keys),
    // Arrays.
    Extension::new("zip", Arity::at_least(1), zip),
    Extension::new("compact", Arity::exactly(1), compact),
    Extension::new("find_by", Arity::exactly(3), find_by),
    Extension::new("index_of", Arity::exactly(2), index_of),
    // Strings.
    Extension::new("lower", Arity::exactly(1), lower),
    Extension::new("upper", Arity::exactly(1), upper),
    Extension::new("trim", Arity::between(1, 2), trim),
    Extension::new("trim_left", Arity::between(1, 2), trim_left),
    Extension::new("trim_right", Arity::between(1, 2), trim_right),
    Extension::new("split", Arity::between(2, 3), split),
    Extension::new("replace", Arity::between(3, 4), replace),
    Extension::new("pad_left", Arity::between(2, 3), pad_left),
    Extension::new("pad_right", Arity::between(2, 3), pad_right),
    Extension::new("concat", Arity::at_least(1), concat),
    Extension::new("words_before_last", Arity::exactly(1), words_before_last),
    Extension::new("last_word", Arity::exactly(1), last_word),
    // Choice.
    Extension::new("coalesce", Arity::at_least(1), coalesce),
    Extension::new("if", Arity::between(2, 3), if_),
    // Numbers.
    Extension::new("multiply", Arity::exactly(2), multiply),
    Extension::new("add", Arity::exactly(2), add),
    Extension::new("divide", Arity::exactly(2), divide),
    Extension::new("cents_to_units", Arity::exactly(1), cents_to_units),
    Extension::new("units_to_cents", Arity::exactly(1), units_to_cents),
    // Dates.
    Extension::new("to_date", Arity::exactly(1), to_date),
    Extension::new("to_datetime", Arity::exactly(1), to_datetime),
];

/// `object` takes key/value pairs, a rule that [`Arity`] cannot express.
const PAIRED_ARGUMENTS: &str = "object";

// ---------------------------------------------------------------------------------------------
// Load-time checking
// ---------------------------------------------------------------------------------------------

/// Walks every node; the match is exhaustive so a new `Ast` variant cannot be skipped silently.
fn check_node(ast: &Ast, faults: &mut Vec<(usize, String)>) {
    match ast {
        Ast::Function { offset, name, args } => {
            if let Some(message) = call_fault(name, args.len()) {
                faults.push((offset.saturating_sub(name.len()), message));
            }
            for arg in args {
                check_node(arg, faults);
            }
        }
        Ast::Comparison { lhs, rhs, .. }
        | Ast::And { lhs, rhs, .. }
        | Ast::Or { lhs, rhs, .. }
        | Ast::Projection { lhs, rhs, .. }
        | Ast::Subexpr { lhs, rhs, .. } => {
            check_node(lhs, faults);
            check_node(rhs, faults);
        }
        Ast::Condition {
            predicate, then, ..
        } => {
            check_node(predicate, faults);
            check_node(then, faults);
        }
        Ast::Expref { ast: node, .. }
        | Ast::Flatten { node, .. }
        | Ast::Not { node, .. }
        | Ast::ObjectValues { node, .. } => check_node(node, faults),
        Ast::MultiList { elements, .. } => {
            for element in elements {
                check_node(element, faults);
            }
        }
        Ast::MultiHash { elements, .. } => {
            for pair in elements {
                check_node(&pair.value, faults);
            }
        }
        Ast::Identity { .. }
        | Ast::Field { .. }
        | Ast::Index { .. }
        | Ast::Literal { .. }
        | Ast::Slice { .. } => {}
    }
}

/// What is wrong with calling `name` with `count` arguments, if anything.
fn call_fault(name: &str, count: usize) -> Option<String> {
    let Some(arity) = arity(name) else {
        return Some(match did_you_mean(name) {
            Some(known) => format!("unknown function `{name}` (did you mean `{known}`?)"),
            None => format!("unknown function `{name}`"),
        });
    };
    if !arity.accepts(count) {
        return Some(format!("function `{name}` takes {arity}, got {count}"));
    }
    if name == PAIRED_ARGUMENTS && !count.is_multiple_of(2) {
        return Some(format!(
            "function `{name}` takes key/value pairs (an even number of arguments), got {count}"
        ));
    }
    None
}

/// The known name closest to `name`, if it is near enough to be a plausible typo.
fn did_you_mean(name: &str) -> Option<&'static str> {
    let tolerance = (name.chars().count() / 3).max(1);
    names()
        .map(|known| (edit_distance(name, known), known))
        .filter(|(distance, _)| *distance <= tolerance)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, known)| known)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and adjacent
/// transpositions each cost 1, so `concta` is one edit from `concat`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j] = distance between a[..i] and b[..j].
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let substitution = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + substitution);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

// ---------------------------------------------------------------------------------------------
// Extension plumbing
// ---------------------------------------------------------------------------------------------

/// One extension function: its name, its arity and its implementation.
#[derive(Clone, Copy)]
struct Extension {
    name: &'static str,
    arity: Arity,
    eval: fn(&Call<'_>) -> SearchResult,
}

impl Extension {
    const fn new(name: &'static str, arity: Arity, eval: fn(&Call<'_>) -> SearchResult) -> Self {
        Extension { name, arity, eval }
    }
}

impl Function for Extension {
    fn evaluate(&self, args: &[Rcvar], ctx: &mut Context<'_>) -> SearchResult {
        let call = Call {
            function: self.name,
            args,
            expression: ctx.expression,
            offset: ctx.offset,
        };
        // `check` rejects bad arities at load time; this guards expressions that skipped it.
        call.check_arity(self.arity)?;
        (self.eval)(&call)
    }
}

/// One invocation of an extension: its arguments, and where to point errors.
struct Call<'a> {
    function: &'static str,
    args: &'a [Rcvar],
    expression: &'a str,
    /// The interpreter sets the context's offset to the call being evaluated.
    offset: usize,
}

/// Stands in for optional arguments that were not given.
static NULL: Variable = Variable::Null;

impl Call<'_> {
    fn check_arity(&self, arity: Arity) -> Result<(), JmespathError> {
        let actual = self.args.len();
        if actual < arity.min {
            return Err(self.error(RuntimeError::NotEnoughArguments {
                expected: arity.min,
                actual,
            }));
        }
        match arity.max {
            Some(expected) if actual > expected => {
                Err(self.error(RuntimeError::TooManyArguments { expected, actual }))
            }
            _ => Ok(()),
        }
    }

    /// The argument at `position`; null when it was not given.
    fn arg(&self, position: usize) -> &Variable {
        self.args.get(position).map_or(&NULL, |arg| arg.as_ref())
    }

    /// The shared argument at `position`, to return as is without copying it.
    fn shared(&self, position: usize) -> Rcvar {
        self.args.get(position).cloned().unwrap_or_else(null)
    }

    fn string(&self, position: usize) -> Result<Option<&str>, JmespathError> {
        match self.arg(position) {
            Variable::Null => Ok(None),
            Variable::String(text) => Ok(Some(text)),
            other => Err(self.wrong_type(position, "string", other)),
        }
    }

    fn number(&self, position: usize) -> Result<Option<&Number>, JmespathError> {
        match self.arg(position) {
            Variable::Null => Ok(None),
            Variable::Number(number) => Ok(Some(number)),
            other => Err(self.wrong_type(position, "number", other)),
        }
    }

    fn object(&self, position: usize) -> Result<Option<&BTreeMap<String, Rcvar>>, JmespathError> {
        match self.arg(position) {
            Variable::Null => Ok(None),
            Variable::Object(object) => Ok(Some(object)),
            other => Err(self.wrong_type(position, "object", other)),
        }
    }

    fn array(&self, position: usize) -> Result<Option<&[Rcvar]>, JmespathError> {
        match self.arg(position) {
            Variable::Null => Ok(None),
            Variable::Array(array) => Ok(Some(array)),
            other => Err(self.wrong_type(position, "array", other)),
        }
    }

    /// A count such as split's limit: a whole number that is not negative.
    fn count(&self, position: usize) -> Result<Option<usize>, JmespathError> {
        let Some(number) = self.number(position)? else {
            return Ok(None);
        };
        let count = number
            .as_u64()
            .or_else(|| whole_f64(number).and_then(|n| (n >= 0.0).then_some(n as u64)));
        match count.and_then(|count| usize::try_from(count).ok()) {
            Some(count) => Ok(Some(count)),
            None => Err(self.wrong_type(position, "non-negative integer", self.arg(position))),
        }
    }

    /// An object key taken from data: strings as they are, numbers as their JSON text (ids are
    /// often numbers), and `None` for null, meaning "leave this entry out".
    fn key(&self, position: usize, key: &Variable) -> Result<Option<String>, JmespathError> {
        match key {
            Variable::Null => Ok(None),
            Variable::String(text) => Ok(Some(text.clone())),
            Variable::Number(number) => Ok(Some(number.to_string())),
            other => Err(self.wrong_type(position, "string key", other)),
        }
    }

    fn wrong_type(&self, position: usize, expected: &str, actual: &Variable) -> JmespathError {
        self.invalid(position, expected, actual.get_type().to_string())
    }

    /// The `InvalidType` runtime error, with the function named in the expected type because
    /// the error type has no other place for it.
    fn invalid(&self, position: usize, expected: &str, actual: String) -> JmespathError {
        self.error(RuntimeError::InvalidType {
            expected: format!("{expected} (in `{}`)", self.function),
            actual,
            position,
        })
    }

    fn error(&self, reason: RuntimeError) -> JmespathError {
        JmespathError::new(self.expression, self.offset, ErrorReason::Runtime(reason))
    }
}

fn null() -> Rcvar {
    Rcvar::new(Variable::Null)
}

fn wrap(value: Variable) -> Rcvar {
    Rcvar::new(value)
}

fn text(value: impl Into<String>) -> Rcvar {
    wrap(Variable::String(value.into()))
}

fn nullable(value: Option<Rcvar>) -> Rcvar {
    value.unwrap_or_else(null)
}

/// The value of a float number that is a whole number.
fn whole_f64(number: &Number) -> Option<f64> {
    number.as_f64().filter(|n| n.fract() == 0.0)
}

// ---------------------------------------------------------------------------------------------
// Objects
// ---------------------------------------------------------------------------------------------

/// `items(object $obj) -> array[[string, any]]`
///
/// The object's entries as `[key, value]` pairs, sorted by key. Null gives null; anything but
/// an object is an error.
///
/// `items(@)` on `{"b": 2, "a": 1}` → `[["a", 1], ["b", 2]]`
fn items(call: &Call<'_>) -> SearchResult {
    let Some(object) = call.object(0)? else {
        return Ok(null());
    };
    let pairs = object
        .iter()
        .map(|(key, value)| wrap(Variable::Array(vec![text(key.as_str()), value.clone()])))
        .collect();
    Ok(wrap(Variable::Array(pairs)))
}

/// `from_items(array $pairs) -> object`
///
/// Builds an object from `[key, value]` pairs, the inverse of `items`; the last duplicate key
/// wins. Keys may be strings or numbers (written as their JSON text); a pair whose key is null
/// is left out. Null gives null; a non-array, or an element that is not a two-element array
/// with a string or number key, is an error.
///
/// ``from_items(`[["one", 1], ["two", 2]]`)`` → `{"one": 1, "two": 2}`
fn from_items(call: &Call<'_>) -> SearchResult {
    let Some(pairs) = call.array(0)? else {
        return Ok(null());
    };
    let mut object = BTreeMap::new();
    for (index, pair) in pairs.iter().enumerate() {
        let Some([key, value]) = pair.as_array().map(Vec::as_slice) else {
            return Err(call.invalid(
                0,
                "array of [key, value] pairs",
                format!("{} at index {index}", describe(pair)),
            ));
        };
        if let Some(key) = call.key(0, key)? {
            object.insert(key, value.clone());
        }
    }
    Ok(wrap(Variable::Object(object)))
}

/// A value's type, with the length of arrays, for errors about malformed pairs.
fn describe(value: &Variable) -> String {
    match value {
        Variable::Array(array) => format!("array of length {}", array.len()),
        other => other.get_type().to_string(),
    }
}

/// `object(string $key1, any $value1, string $key2, any $value2, ...) -> object`
///
/// Builds an object whose keys are computed, which a multi-select hash cannot do. Keys may be
/// strings or numbers (written as their JSON text); a pair whose key is null is left out; the
/// last duplicate key wins. An odd number of arguments is an error (and fails `check`).
///
/// `object(id, name)` on `{"id": "cf_1", "name": "Tier"}` → `{"cf_1": "Tier"}`
fn object(call: &Call<'_>) -> SearchResult {
    let count = call.args.len();
    if !count.is_multiple_of(2) {
        // The value of the last key is missing.
        return Err(call.error(RuntimeError::NotEnoughArguments {
            expected: count + 1,
            actual: count,
        }));
    }
    let mut object = BTreeMap::new();
    for (pair_index, pair) in call.args.chunks_exact(2).enumerate() {
        if let [key, value] = pair {
            if let Some(key) = call.key(pair_index * 2, key)? {
                object.insert(key, value.clone());
            }
        }
    }
    Ok(wrap(Variable::Object(object)))
}

/// `get(object $obj, string $key[, any $default]) -> any`
///
/// The value under a key computed at run time, or a key that is awkward to write in a path.
/// When the object is null, the key is null or missing, or its value is null, gives `$default`
/// (null if not given). A number key is looked up by its JSON text. A non-object `$obj` or a
/// key that is not a string or number is an error.
///
/// `get(@, 'extra.f_x', 'none')` on `{"extra.f_x": 5}` → `5`
fn get(call: &Call<'_>) -> SearchResult {
    let object = call.object(0)?;
    let key = call.key(1, call.arg(1))?;
    let found = match (object, key) {
        (Some(object), Some(key)) => object.get(&key).filter(|value| !value.is_null()),
        _ => None,
    };
    Ok(found.cloned().unwrap_or_else(|| call.shared(2)))
}

/// `entries_with_prefix(object $obj, string $prefix) -> object`
///
/// The entries whose key starts with `$prefix`, with the prefix removed from the key; turns
/// `extra.f_*` keys into a `custom_fields` object. Null in either argument gives null;
/// other types are errors.
///
/// `entries_with_prefix(@, 'extra.')` on `{"extra.f_a": 1, "name": "x"}` → `{"cf_a": 1}`
fn entries_with_prefix(call: &Call<'_>) -> SearchResult {
    let object = call.object(0)?;
    let prefix = call.string(1)?;
    let (Some(object), Some(prefix)) = (object, prefix) else {
        return Ok(null());
    };
    let entries = object
        .iter()
        .filter_map(|(key, value)| {
            key.strip_prefix(prefix)
                .map(|rest| (rest.to_owned(), value.clone()))
        })
        .collect();
    Ok(wrap(Variable::Object(entries)))
}

/// `with_key_prefix(object $obj, string $prefix) -> object`
///
/// The object with `$prefix` put before every key, the reverse of `entries_with_prefix` (for
/// writing custom fields back). Null in either argument gives null; other types are errors.
///
/// `with_key_prefix(custom_fields, 'extra.')` on `{"custom_fields": {"cf_a": 1}}` →
/// `{"extra.f_a": 1}`
fn with_key_prefix(call: &Call<'_>) -> SearchResult {
    let object = call.object(0)?;
    let prefix = call.string(1)?;
    let (Some(object), Some(prefix)) = (object, prefix) else {
        return Ok(null());
    };
    let entries = object
        .iter()
        .map(|(key, value)| (format!("{prefix}{key}"), value.clone()))
        .collect();
    Ok(wrap(Variable::Object(entries)))
}

/// `find_by(array $list, string $key, any $value) -> any`
///
/// The first object of `$list` whose `$key` equals `$value`, or null. Lets a mapping join a
/// record with reference data: the arguments are evaluated against the record, so `$value` can
/// be one of its fields. A dotted key (`user.id`) reaches into nested objects. Null `$list`
/// gives null; other types are errors.
///
/// `find_by(@.pipelines, 'id', pipeline_id)` on `{"pipeline_id": "p2", "pipelines": [{"id": "p1"}, {"id": "p2", "name": "B"}]}` → `{"id": "p2", "name": "B"}`
fn find_by(call: &Call<'_>) -> SearchResult {
    let Some(list) = call.array(0)? else {
        return Ok(null());
    };
    let Some(key) = call.string(1)? else {
        return Ok(null());
    };
    let value = call.arg(2);
    // A dotted key reaches into nested objects: `user.id`.
    let field = |item: &Rcvar| -> Option<Rcvar> {
        key.split('.').try_fold(item.clone(), |current, part| {
            current
                .as_object()
                .and_then(|object| object.get(part))
                .cloned()
        })
    };
    Ok(list
        .iter()
        .find(|item| field(item).is_some_and(|found| *found == *value))
        .cloned()
        .unwrap_or_else(null))
}

/// `index_of(array $list, any $value) -> number`
///
/// The zero-based position of the first element equal to `$value`, or null when there is
/// none. Null `$list` gives null; other types are errors.
///
/// `index_of(['a', 'b'], 'b')` → `1`
fn index_of(call: &Call<'_>) -> SearchResult {
    let Some(list) = call.array(0)? else {
        return Ok(null());
    };
    let value = call.arg(1);
    Ok(list
        .iter()
        .position(|item| **item == *value)
        .map(|index| wrap(Variable::Number(serde_json::Number::from(index))))
        .unwrap_or_else(null))
}

/// `rename_keys(object $obj, object $names) -> object`
///
/// The object with every key that `$names` maps (to a string) renamed; other keys stay. Null
/// `$obj` gives null; null `$names` renames nothing; other types are errors.
///
/// `rename_keys(@, {"f_1": 'Score'})` on `{"f_1": 7, "f_2": 8}` → `{"Score": 7, "f_2": 8}`
fn rename_keys(call: &Call<'_>) -> SearchResult {
    let Some(object) = call.object(0)? else {
        return Ok(null());
    };
    let names = call.object(1)?;
    let entries = object
        .iter()
        .map(|(key, value)| {
            let renamed = names
                .and_then(|names| names.get(key))
                .and_then(|name| name.as_string().cloned())
                .unwrap_or_else(|| key.clone());
            (renamed, value.clone())
        })
        .collect();
    Ok(wrap(Variable::Object(entries)))
}

/// `compact_object(object $obj) -> object`
///
/// The object without its null-valued entries. Null gives null; other types are errors.
///
/// `compact_object(@)` on `{"a": 1, "b": null}` → `{"a": 1}`
fn compact_object(call: &Call<'_>) -> SearchResult {
    let Some(object) = call.object(0)? else {
        return Ok(null());
    };
    let entries = object
        .iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    Ok(wrap(Variable::Object(entries)))
}

// ---------------------------------------------------------------------------------------------
// Arrays
// ---------------------------------------------------------------------------------------------

/// `zip(array $a, array $b, ...) -> array[array]`
///
/// The i-th element of every argument, for each i, truncated to the shortest array. Any null
/// argument gives null; a non-array argument is an error.
///
/// ``zip(`["a", "b"]`, `[1, 2, 3]`)`` → `[["a", 1], ["b", 2]]`
fn zip(call: &Call<'_>) -> SearchResult {
    // Check every argument's type before giving up on a null, so a type error is never hidden.
    let arrays = (0..call.args.len())
        .map(|position| call.array(position))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(arrays) = arrays.into_iter().collect::<Option<Vec<_>>>() else {
        return Ok(null());
    };
    let rows = arrays.iter().map(|array| array.len()).min().unwrap_or(0);
    let zipped = (0..rows)
        .map(|row| {
            let tuple = arrays.iter().map(|array| array[row].clone()).collect();
            wrap(Variable::Array(tuple))
        })
        .collect();
    Ok(wrap(Variable::Array(zipped)))
}

/// `compact(array $values) -> array`
///
/// The array without its null elements. Null gives null; other types are errors.
///
/// ``compact(`[1, null, "a"]`)`` → `[1, "a"]`
fn compact(call: &Call<'_>) -> SearchResult {
    let Some(array) = call.array(0)? else {
        return Ok(null());
    };
    let kept = array
        .iter()
        .filter(|value| !value.is_null())
        .cloned()
        .collect();
    Ok(wrap(Variable::Array(kept)))
}

// ---------------------------------------------------------------------------------------------
// Strings
// ---------------------------------------------------------------------------------------------

/// Applies `change` to a string first argument; null gives null, other types are errors.
fn map_string(call: &Call<'_>, change: impl FnOnce(&str) -> String) -> SearchResult {
    Ok(nullable(
        call.string(0)?.map(|subject| text(change(subject))),
    ))
}

/// `lower(string $s) -> string`
///
/// The string in lower case (Unicode rules). Null gives null; other types are errors.
///
/// `lower('ÉCOLE')` → `"école"`
fn lower(call: &Call<'_>) -> SearchResult {
    map_string(call, str::to_lowercase)
}

/// `upper(string $s) -> string`
///
/// The string in upper case (Unicode rules). Null gives null; other types are errors.
///
/// `upper('abc')` → `"ABC"`
fn upper(call: &Call<'_>) -> SearchResult {
    map_string(call, str::to_uppercase)
}

#[derive(Clone, Copy)]
enum Ends {
    Both,
    Start,
    End,
}

/// Trims `$chars` (a set of characters; whitespace when absent, null or empty) from the given
/// ends of a string.
fn trim_ends(call: &Call<'_>, ends: Ends) -> SearchResult {
    let subject = call.string(0)?;
    let chars = call.string(1)?.filter(|chars| !chars.is_empty());
    let Some(subject) = subject else {
        return Ok(null());
    };
    let trimmed = match chars {
        None => match ends {
            Ends::Both => subject.trim(),
            Ends::Start => subject.trim_start(),
            Ends::End => subject.trim_end(),
        },
        Some(chars) => {
            let in_set = |c: char| chars.contains(c);
            match ends {
                Ends::Both => subject.trim_matches(in_set),
                Ends::Start => subject.trim_start_matches(in_set),
                Ends::End => subject.trim_end_matches(in_set),
            }
        }
    };
    Ok(text(trimmed))
}

/// `trim(string $s[, string $chars]) -> string`
///
/// Removes leading and trailing characters found in `$chars`, or whitespace when `$chars` is
/// absent, null or empty. Null `$s` gives null; other types are errors.
///
/// `trim('  Acme  ')` → `"Acme"`; `trim('--a-b--', '-')` → `"a-b"`
fn trim(call: &Call<'_>) -> SearchResult {
    trim_ends(call, Ends::Both)
}

/// `trim_left(string $s[, string $chars]) -> string`
///
/// Like `trim`, at the start only.
///
/// `trim_left('  a  ')` → `"a  "`
fn trim_left(call: &Call<'_>) -> SearchResult {
    trim_ends(call, Ends::Start)
}

/// `trim_right(string $s[, string $chars]) -> string`
///
/// Like `trim`, at the end only.
///
/// `trim_right('  a  ')` → `"  a"`
fn trim_right(call: &Call<'_>) -> SearchResult {
    trim_ends(call, Ends::End)
}

/// `split(string $s, string $sep[, number $count]) -> array[string]`
///
/// Splits at each `$sep`, or at most `$count` times (the last element keeps the rest). An
/// empty `$sep` splits into characters. Null `$s` or `$sep` gives null; other types, or a
/// `$count` that is negative or not whole, are errors.
///
/// ``split('a,b,c', ',', `1`)`` → `["a", "b,c"]`
fn split(call: &Call<'_>) -> SearchResult {
    let subject = call.string(0)?;
    let separator = call.string(1)?;
    let limit = call.count(2)?;
    let (Some(subject), Some(separator)) = (subject, separator) else {
        return Ok(null());
    };
    let parts: Vec<Rcvar> = match (separator.is_empty(), limit) {
        (true, limit) => split_chars(subject, limit),
        (false, None) => subject.split(separator).map(text).collect(),
        (false, Some(limit)) => subject.splitn(limit + 1, separator).map(text).collect(),
    };
    Ok(wrap(Variable::Array(parts)))
}

/// Splits into characters, at most `limit` times.
fn split_chars(subject: &str, limit: Option<usize>) -> Vec<Rcvar> {
    let limit = limit.unwrap_or(usize::MAX);
    let mut parts = Vec::new();
    let mut rest = subject;
    let mut chars = subject.char_indices();
    while parts.len() < limit {
        let Some((start, c)) = chars.next() else {
            return parts;
        };
        parts.push(text(c.to_string()));
        rest = &subject[start + c.len_utf8()..];
    }
    if !rest.is_empty() {
        parts.push(text(rest));
    }
    parts
}

/// `replace(string $s, string $old, string $new[, number $count]) -> string`
///
/// Replaces every `$old` with `$new`, or only the first `$count`. Null `$s`, `$old` or `$new`
/// gives null; other types, or a negative or fractional `$count`, are errors.
///
/// `replace('a-b-c', '-', ' ')` → `"a b c"`
fn replace(call: &Call<'_>) -> SearchResult {
    let subject = call.string(0)?;
    let old = call.string(1)?;
    let new = call.string(2)?;
    let limit = call.count(3)?;
    let (Some(subject), Some(old), Some(new)) = (subject, old, new) else {
        return Ok(null());
    };
    Ok(text(match limit {
        None => subject.replace(old, new),
        Some(limit) => subject.replacen(old, new, limit),
    }))
}

/// The widest `pad_left`/`pad_right` result.
const MAX_PAD_WIDTH: usize = 10_000;

/// Pads to `$width` characters with `$pad` (a single character, space by default) on one side.
fn pad(call: &Call<'_>, at_start: bool) -> SearchResult {
    let subject = call.string(0)?;
    let width = call.count(1)?;
    let pad = match call.string(2)? {
        None => ' ',
        Some(pad) => single_char(pad).ok_or_else(|| {
            call.invalid(
                2,
                "single-character string",
                format!("string of length {}", pad.chars().count()),
            )
        })?,
    };
    let (Some(subject), Some(width)) = (subject, width) else {
        return Ok(null());
    };
    // Padding is for codes and ids; a width from bad data must not allocate gigabytes.
    if width > MAX_PAD_WIDTH {
        return Err(call.invalid(1, "width of at most 10000", format!("{width}")));
    }
    let padding: String =
        std::iter::repeat_n(pad, width.saturating_sub(subject.chars().count())).collect();
    Ok(text(if at_start {
        padding + subject
    } else {
        format!("{subject}{padding}")
    }))
}

fn single_char(text: &str) -> Option<char> {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

/// `pad_left(string $s, number $width[, string $pad]) -> string`
///
/// Adds `$pad` (one character, space by default) before `$s` until it is `$width` characters
/// long; longer strings are unchanged. Null `$s` or `$width` gives null; other types, a
/// negative width or a `$pad` that is not one character are errors.
///
/// ``pad_left('42', `5`, '0')`` → `"00042"`
fn pad_left(call: &Call<'_>) -> SearchResult {
    pad(call, true)
}

/// `pad_right(string $s, number $width[, string $pad]) -> string`
///
/// Like `pad_left`, adding after the string.
///
/// ``pad_right('ab', `4`, '.')`` → `"ab.."`
fn pad_right(call: &Call<'_>) -> SearchResult {
    pad(call, false)
}

/// `concat(any $a, any $b, ...) -> string|array`
///
/// Joins strings, skipping nulls, so `concat(first, ' ', last)` survives a missing `last`.
/// Numbers and booleans are written as their JSON text. When every non-null argument is an
/// array, concatenates the arrays instead. All arguments null gives null; an object (or an
/// array mixed with strings) is an error.
///
/// ``concat('Order #', `42`, missing)`` → `"Order #42"`; ``concat(`[1]`, `[2, 3]`)`` → `[1, 2, 3]`
fn concat(call: &Call<'_>) -> SearchResult {
    let mut present = call.args.iter().filter(|arg| !arg.is_null()).peekable();
    if present.peek().is_none() {
        return Ok(null());
    }
    if present.all(|arg| arg.is_array()) {
        let joined = call
            .args
            .iter()
            .filter_map(|arg| arg.as_array())
            .flatten()
            .cloned()
            .collect();
        return Ok(wrap(Variable::Array(joined)));
    }
    let mut joined = String::new();
    for (position, arg) in call.args.iter().enumerate() {
        match arg.as_ref() {
            Variable::Null => {}
            Variable::String(part) => joined.push_str(part),
            Variable::Number(number) => joined.push_str(&number.to_string()),
            Variable::Bool(flag) => joined.push_str(if *flag { "true" } else { "false" }),
            other => {
                return Err(call.wrong_type(
                    position,
                    "string, number or boolean (or only arrays)",
                    other,
                ))
            }
        }
    }
    Ok(text(joined))
}

/// Splits a trimmed full name at its last run of whitespace: `(everything before, last word)`.
/// `None` for a blank name.
fn split_last_word(name: &str) -> Option<(Option<&str>, &str)> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    Some(match name.rfind(char::is_whitespace) {
        Some(at) => {
            let (before, last) = name.split_at(at);
            (Some(before.trim_end()), last.trim_start())
        }
        None => (None, name),
    })
}

/// `words_before_last(string $name) -> string|null`
///
/// Everything before the last word of a trimmed name (a first name from a full name). A single
/// word, a blank string or null gives null; other types are errors.
///
/// `words_before_last('Mary Ann Whitfield')` → `"Mary Ann"`; `words_before_last('Cher')` → `null`
fn words_before_last(call: &Call<'_>) -> SearchResult {
    let before = call
        .string(0)?
        .and_then(split_last_word)
        .and_then(|(before, _)| before);
    Ok(nullable(before.map(text)))
}

/// `last_word(string $name) -> string|null`
///
/// The last word of a trimmed name (a last name from a full name); a single word is returned
/// whole. A blank string or null gives null; other types are errors.
///
/// `last_word('Mary Ann Whitfield')` → `"Whitfield"`; `last_word('Cher')` → `"Cher"`
fn last_word(call: &Call<'_>) -> SearchResult {
    let last = call
        .string(0)?
        .and_then(split_last_word)
        .map(|(_, last)| last);
    Ok(nullable(last.map(text)))
}

// ---------------------------------------------------------------------------------------------
// Choice
// ---------------------------------------------------------------------------------------------

/// `coalesce(any $a, any $b, ...) -> any`
///
/// The first argument that is neither null nor the empty string; null if there is none. Any
/// type is accepted.
///
/// ``coalesce(`null`, '', 'Acme')`` → `"Acme"`
fn coalesce(call: &Call<'_>) -> SearchResult {
    let chosen = call.args.iter().find(|arg| match arg.as_ref() {
        Variable::Null => false,
        Variable::String(text) => !text.is_empty(),
        _ => true,
    });
    Ok(nullable(chosen.cloned()))
}

/// `if(any $condition, any $then[, any $else]) -> any`
///
/// `$then` if `$condition` is truthy in JMESPath's sense (not false, null, "", [] or {}),
/// otherwise `$else` (null when absent). Both branches are evaluated before the choice, as
/// every argument is; only the chosen value is returned.
///
/// `if(is_deleted, 'archived', 'active')` on `{"is_deleted": false}` → `"active"`
fn if_(call: &Call<'_>) -> SearchResult {
    let branch = if call.arg(0).is_truthy() { 1 } else { 2 };
    Ok(call.shared(branch))
}

// ---------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------

/// A number argument as a decimal; `Ok(None)` for null.
fn decimal_arg(call: &Call<'_>, position: usize) -> Result<Option<Decimal>, JmespathError> {
    Ok(call.number(position)?.and_then(Decimal::from_number))
}

/// A number, or a string holding a decimal number (amounts often arrive as text); `Ok(None)`
/// for null and for strings that are not numbers.
fn amount_arg(call: &Call<'_>, position: usize) -> Result<Option<Decimal>, JmespathError> {
    match call.arg(position) {
        Variable::Null => Ok(None),
        Variable::String(amount) => Ok(Decimal::parse(amount)),
        Variable::Number(amount) => Ok(Decimal::from_number(amount)),
        other => Err(call.wrong_type(position, "number or numeric string", other)),
    }
}

fn number_value(number: Option<Number>) -> Rcvar {
    nullable(number.map(|number| wrap(Variable::Number(number))))
}

/// `add(number $a, number $b) -> number`
///
/// `$a + $b`: exact for integers, the nearest double otherwise. Null in either gives null;
/// other types are errors.
///
/// ``add(index_of(ids, id), `1`)`` turns a zero-based position into a one-based one.
fn add(call: &Call<'_>) -> SearchResult {
    let a = call.number(0)?;
    let b = call.number(1)?;
    let (Some(a), Some(b)) = (a, b) else {
        return Ok(null());
    };
    let sum = match (a.as_i64(), b.as_i64()) {
        (Some(a), Some(b)) => a.checked_add(b).map(Number::from),
        _ => None,
    }
    .or_else(|| Number::from_f64(a.as_f64()? + b.as_f64()?));
    Ok(number_value(sum))
}

/// `multiply(number $a, number $b) -> number`
///
/// `$a × $b`, computed exactly on the numbers as written (so ``multiply(`19.99`, `100`)`` is
/// `1999`, not `1998.9999999999998`); an integer when the product is whole. Null in either
/// gives null; other types are errors.
///
/// ``multiply(`0.29`, `100`)`` → `29`
fn multiply(call: &Call<'_>) -> SearchResult {
    let a = decimal_arg(call, 0)?;
    let b = decimal_arg(call, 1)?;
    let (Some(a), Some(b)) = (a, b) else {
        return Ok(null());
    };
    let product = match a.checked_mul(b) {
        Some(exact) => exact.to_number(),
        // Only past 38 significant digits, which two JSON numbers never reach; kept so the
        // function stays total.
        None => Number::from_f64(a.to_f64() * b.to_f64()),
    };
    Ok(number_value(product))
}

/// `divide(number $n, number $d) -> number|null`
///
/// `$n ÷ $d`: exact when the quotient has a finite decimal expansion (``divide(`0.3`, `0.1`)``
/// is `3`), otherwise the nearest double; an integer when the quotient is whole. Division by
/// zero gives null, as does null in either argument; other types are errors.
///
/// ``divide(`1234`, `100`)`` → `12.34`
fn divide(call: &Call<'_>) -> SearchResult {
    let n = decimal_arg(call, 0)?;
    let d = decimal_arg(call, 1)?;
    let (Some(n), Some(d)) = (n, d) else {
        return Ok(null());
    };
    if d.is_zero() {
        return Ok(null());
    }
    let quotient = match n.checked_div(d) {
        Some(exact) => exact.to_number(),
        None => Number::from_f64(n.to_f64() / d.to_f64()),
    };
    Ok(number_value(quotient))
}

/// `cents_to_units(number|string $cents) -> number`
///
/// `$cents ÷ 100`, exactly: `1234` → `12.34`, `123456` → `1234.56`. A whole result is an
/// integer (`0` → `0`, `1200` → `12`). Also accepts a numeric string (`"1234"`); a string that
/// is not a number gives null, as does null. Other types are errors.
///
/// `cents_to_units(amount)` on `{"amount": 1999}` → `19.99`
fn cents_to_units(call: &Call<'_>) -> SearchResult {
    let units = amount_arg(call, 0)?
        .and_then(|cents| cents.scaled(-2))
        .and_then(Decimal::to_number);
    Ok(number_value(units))
}

/// `units_to_cents(number|string $units) -> integer`
///
/// `$units × 100` rounded to an integer, half away from zero, computed on the decimal digits
/// as written so there is no floating-point drift: `19.99` → `1999`, `0.29` → `29`,
/// `0.30000000000000004` → `30`. Also accepts a numeric string (`"12.34"`); a string that is
/// not a number gives null, as do null and a result beyond the 64-bit integer range. Other
/// types are errors.
///
/// ``units_to_cents(`1234.56`)`` → `123456`
fn units_to_cents(call: &Call<'_>) -> SearchResult {
    let cents = amount_arg(call, 0)?
        .and_then(|units| units.scaled(2))
        .and_then(Decimal::round_to_i64);
    Ok(number_value(cents.map(Number::from)))
}

// ---------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------

/// `to_date(string $iso) -> string|null`
///
/// The `YYYY-MM-DD` date of an ISO-8601 date or date-time, as written: no time-zone shift
/// (`2026-02-11T23:30:00-05:00` → `"2026-02-11"`). A string that is not a valid date or
/// date-time (see `to_datetime`) gives null, as does null; other types are errors.
///
/// `to_date('2026-02-11T16:04:51.902000+00:00')` → `"2026-02-11"`
fn to_date(call: &Call<'_>) -> SearchResult {
    let date = call.string(0)?.and_then(iso8601::date);
    Ok(nullable(date.map(text)))
}

/// `to_datetime(string $iso) -> string|null`
///
/// Normalises an ISO-8601 date-time to RFC 3339: `T` separator, seconds always written,
/// fraction truncated to milliseconds (dropped when zero), `Z` for a zero offset, any other
/// offset kept as `±HH:MM`. A date-time without an offset, and a bare date (midnight), are
/// taken as UTC. Accepts `T`, `t` or a space as separator, `HH:MM` with or without seconds,
/// and offsets `Z`, `±HH:MM`, `±HHMM`, `±HH`. Anything else (including an impossible date
/// such as `2026-02-30`) gives null, as does null; other types are errors.
///
/// `to_datetime('2026-02-11T16:04:51.902000+00:00')` → `"2026-02-11T16:04:51.902Z"`
fn to_datetime(call: &Call<'_>) -> SearchResult {
    let datetime = call.string(0)?.and_then(iso8601::datetime);
    Ok(nullable(datetime.map(text)))
}

/// Decimal arithmetic on the digits of a number as written, for money.
mod decimal {
    use serde_json::Number;

    /// `±mantissa × 10^exponent`. 38 significant digits are plenty: JSON numbers arrive as
    /// 64-bit integers or doubles (at most 17 significant digits).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) struct Decimal {
        negative: bool,
        mantissa: u128,
        exponent: i32,
    }

    impl Decimal {
        /// The number's decimal value; a double is read from its shortest round-trip text,
        /// which is how it was written in the JSON (`0.29`, not `0.28999999999999998`).
        pub(super) fn from_number(number: &Number) -> Option<Self> {
            if let Some(integer) = number.as_i64() {
                return Some(Decimal {
                    negative: integer < 0,
                    mantissa: u128::from(integer.unsigned_abs()),
                    exponent: 0,
                });
            }
            if let Some(integer) = number.as_u64() {
                return Some(Decimal {
                    negative: false,
                    mantissa: u128::from(integer),
                    exponent: 0,
                });
            }
            Self::parse(&number.to_string())
        }

        /// Parses `[+-]digits[.digits][(e|E)[+-]digits]`, surrounding whitespace allowed.
        pub(super) fn parse(text: &str) -> Option<Self> {
            let text = text.trim();
            let (negative, unsigned) = match text.as_bytes().first() {
                Some(b'-') => (true, &text[1..]),
                Some(b'+') => (false, &text[1..]),
                _ => (false, text),
            };
            let (digits, exponent) = match unsigned.find(['e', 'E']) {
                Some(at) => (&unsigned[..at], unsigned[at + 1..].parse::<i32>().ok()?),
                None => (unsigned, 0),
            };
            let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
            let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
            if (whole.is_empty() && fraction.is_empty())
                || !all_digits(whole)
                || !all_digits(fraction)
            {
                return None;
            }
            let mut mantissa: u128 = 0;
            for digit in whole.bytes().chain(fraction.bytes()) {
                mantissa = mantissa
                    .checked_mul(10)?
                    .checked_add(u128::from(digit - b'0'))?;
            }
            let fraction_digits = i32::try_from(fraction.len()).ok()?;
            Some(Decimal {
                negative,
                mantissa,
                exponent: exponent.checked_sub(fraction_digits)?,
            })
        }

        pub(super) fn is_zero(self) -> bool {
            self.mantissa == 0
        }

        /// `self × 10^power`.
        pub(super) fn scaled(self, power: i32) -> Option<Self> {
            Some(Decimal {
                exponent: self.exponent.checked_add(power)?,
                ..self
            })
        }

        /// The exact product; `None` when it needs more than 38 digits.
        pub(super) fn checked_mul(self, other: Self) -> Option<Self> {
            Some(Decimal {
                negative: self.negative != other.negative,
                mantissa: self.mantissa.checked_mul(other.mantissa)?,
                exponent: self.exponent.checked_add(other.exponent)?,
            })
        }

        /// The exact quotient; `None` when the divisor is zero or the quotient has no finite
        /// decimal expansion within 38 digits (`1/3`).
        pub(super) fn checked_div(self, divisor: Self) -> Option<Self> {
            if divisor.mantissa == 0 {
                return None;
            }
            let mut dividend = self.mantissa;
            let mut exponent = self.exponent.checked_sub(divisor.exponent)?;
            // Each step adds a decimal place; a non-terminating quotient overflows within 39.
            while !dividend.is_multiple_of(divisor.mantissa) {
                dividend = dividend.checked_mul(10)?;
                exponent = exponent.checked_sub(1)?;
            }
            Some(Decimal {
                negative: self.negative != divisor.negative,
                mantissa: dividend / divisor.mantissa,
                exponent,
            })
        }

        /// Rounded to an integer, half away from zero; `None` outside the `i64` range.
        pub(super) fn round_to_i64(self) -> Option<i64> {
            let magnitude = match u32::try_from(self.exponent) {
                Ok(power) => self.mantissa.checked_mul(10u128.checked_pow(power)?)?,
                Err(_) => {
                    let places = self.exponent.unsigned_abs();
                    match 10u128.checked_pow(places) {
                        Some(unit) => {
                            let (whole, rest) = (self.mantissa / unit, self.mantissa % unit);
                            // `rest >= unit / 2`, without the halving losing the odd digit.
                            whole + u128::from(rest >= unit - rest)
                        }
                        // 10^places is beyond every mantissa: the value is below 0.1.
                        None => 0,
                    }
                }
            };
            signed_i64(self.negative, magnitude)
        }

        /// As a JSON number: an integer when whole and within 64 bits, otherwise the nearest
        /// double. `None` only when the value overflows a double.
        pub(super) fn to_number(self) -> Option<Number> {
            let normal = self.normalised();
            if normal.mantissa == 0 {
                return Some(Number::from(0u64));
            }
            if let Ok(power) = u32::try_from(normal.exponent) {
                let whole = 10u128
                    .checked_pow(power)
                    .and_then(|scale| normal.mantissa.checked_mul(scale));
                if let Some(number) = whole.and_then(|whole| integer_number(normal.negative, whole))
                {
                    return Some(number);
                }
            }
            Number::from_f64(normal.to_f64())
        }

        /// The nearest double (Rust's float parsing rounds correctly).
        pub(super) fn to_f64(self) -> f64 {
            let sign = if self.negative { "-" } else { "" };
            format!("{sign}{}e{}", self.mantissa, self.exponent)
                .parse()
                .unwrap_or(f64::NAN)
        }

        /// Without trailing zeros in the mantissa, so whole values have exponent >= 0.
        fn normalised(mut self) -> Self {
            while self.mantissa != 0 && self.mantissa.is_multiple_of(10) {
                match self.exponent.checked_add(1) {
                    Some(exponent) => self.exponent = exponent,
                    None => break,
                }
                self.mantissa /= 10;
            }
            self
        }
    }

    fn signed_i64(negative: bool, magnitude: u128) -> Option<i64> {
        let magnitude = i128::try_from(magnitude).ok()?;
        i64::try_from(if negative { -magnitude } else { magnitude }).ok()
    }

    fn integer_number(negative: bool, magnitude: u128) -> Option<Number> {
        if negative {
            signed_i64(true, magnitude).map(Number::from)
        } else {
            u64::try_from(magnitude).ok().map(Number::from)
        }
    }
}

/// Hand parsing of the fixed ISO-8601 shapes upstream APIs send, to avoid a date crate.
mod iso8601 {
    /// The `YYYY-MM-DD` part of a valid date or date-time.
    pub(super) fn date(text: &str) -> Option<&str> {
        parse(text).map(|parsed| parsed.date)
    }

    /// The date-time in RFC 3339 form; see `to_datetime` for the rules.
    pub(super) fn datetime(text: &str) -> Option<String> {
        parse(text).map(|parsed| parsed.to_rfc3339())
    }

    struct Parsed<'a> {
        date: &'a str,
        hour: u32,
        minute: u32,
        second: u32,
        millis: u32,
        /// Minutes east of UTC; 0 for `Z`, no offset, or a bare date.
        offset_minutes: i32,
    }

    impl Parsed<'_> {
        fn to_rfc3339(&self) -> String {
            let fraction = match self.millis {
                0 => String::new(),
                millis => format!(".{millis:03}"),
            };
            let offset = match self.offset_minutes {
                0 => "Z".to_owned(),
                minutes => {
                    let sign = if minutes < 0 { '-' } else { '+' };
                    let minutes = minutes.unsigned_abs();
                    format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
                }
            };
            format!(
                "{}T{:02}:{:02}:{:02}{fraction}{offset}",
                self.date, self.hour, self.minute, self.second
            )
        }
    }

    fn parse(text: &str) -> Option<Parsed<'_>> {
        let text = text.trim();
        let mut cursor = Cursor { text, position: 0 };
        let year = cursor.digits(4)?;
        cursor.expect(b'-')?;
        let month = cursor.digits(2)?;
        cursor.expect(b'-')?;
        let day = cursor.digits(2)?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        let mut parsed = Parsed {
            date: text.get(..10)?,
            hour: 0,
            minute: 0,
            second: 0,
            millis: 0,
            offset_minutes: 0,
        };
        if cursor.at_end() {
            return Some(parsed);
        }
        if !matches!(cursor.take()?, b'T' | b't' | b' ') {
            return None;
        }
        parsed.hour = cursor.digits(2).filter(|hour| *hour <= 23)?;
        cursor.expect(b':')?;
        parsed.minute = cursor.digits(2).filter(|minute| *minute <= 59)?;
        if cursor.eat(b':') {
            // 60 is a leap second, which RFC 3339 allows.
            parsed.second = cursor.digits(2).filter(|second| *second <= 60)?;
            if cursor.eat(b'.') {
                parsed.millis = cursor.fraction_millis()?;
            }
        }
        parsed.offset_minutes = cursor.offset()?;
        cursor.at_end().then_some(parsed)
    }

    fn days_in_month(year: u32, month: u32) -> u32 {
        match month {
            4 | 6 | 9 | 11 => 30,
            2 if year.is_multiple_of(4)
                && (!year.is_multiple_of(100) || year.is_multiple_of(400)) =>
            {
                29
            }
            2 => 28,
            _ => 31,
        }
    }

    struct Cursor<'a> {
        text: &'a str,
        position: usize,
    }

    impl Cursor<'_> {
        fn at_end(&self) -> bool {
            self.position >= self.text.len()
        }

        fn peek(&self) -> Option<u8> {
            self.text.as_bytes().get(self.position).copied()
        }

        fn take(&mut self) -> Option<u8> {
            let byte = self.peek()?;
            self.position += 1;
            Some(byte)
        }

        fn eat(&mut self, expected: u8) -> bool {
            let found = self.peek() == Some(expected);
            if found {
                self.position += 1;
            }
            found
        }

        fn expect(&mut self, expected: u8) -> Option<()> {
            self.eat(expected).then_some(())
        }

        /// Exactly `count` ASCII digits, as a number.
        fn digits(&mut self, count: usize) -> Option<u32> {
            let mut value = 0;
            for _ in 0..count {
                let digit = self.take().filter(u8::is_ascii_digit)?;
                value = value * 10 + u32::from(digit - b'0');
            }
            Some(value)
        }

        /// One or more fraction digits, truncated to milliseconds. Truncating (not rounding)
        /// keeps `59.9999` inside its second instead of carrying into the next minute or day.
        fn fraction_millis(&mut self) -> Option<u32> {
            let start = self.position;
            let mut millis = 0;
            while let Some(digit) = self.peek().filter(u8::is_ascii_digit) {
                if self.position - start < 3 {
                    millis = millis * 10 + u32::from(digit - b'0');
                }
                self.position += 1;
            }
            // Scale `.9` to 900 and `.95` to 950.
            match self.position - start {
                0 => None,
                1 => Some(millis * 100),
                2 => Some(millis * 10),
                _ => Some(millis),
            }
        }

        /// `Z`, `±HH:MM`, `±HHMM`, `±HH`, or nothing (taken as UTC), in minutes east of UTC.
        fn offset(&mut self) -> Option<i32> {
            let sign = match self.peek() {
                None => return Some(0),
                Some(b'Z' | b'z') => {
                    self.position += 1;
                    return Some(0);
                }
                Some(b'+') => 1,
                Some(b'-') => -1,
                Some(_) => return None,
            };
            self.position += 1;
            let hours = self.digits(2).filter(|hours| *hours <= 23)?;
            let minutes = if self.eat(b':') || self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.digits(2).filter(|minutes| *minutes <= 59)?
            } else {
                0
            };
            let minutes = i32::try_from(hours * 60 + minutes).ok()?;
            Some(sign * minutes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn eval(expression: &str, data: Value) -> Value {
        let compiled = runtime()
            .compile(expression)
            .unwrap_or_else(|error| panic!("`{expression}` does not compile: {error}"));
        let result = compiled
            .search(data)
            .unwrap_or_else(|error| panic!("`{expression}` failed: {error}"));
        serde_json::to_value(&*result).expect("results serialise")
    }

    fn eval_error(expression: &str, data: Value) -> String {
        let compiled = runtime().compile(expression).expect("compiles");
        match compiled.search(data) {
            Ok(value) => panic!("`{expression}` gave {value} instead of an error"),
            Err(error) => error.to_string(),
        }
    }

    fn faults(expression: &str) -> Vec<(usize, String)> {
        check(&jmespath::parse(expression).expect("parses"))
    }

    fn assert_integer(value: &Value, expected: i64) {
        assert_eq!(
            value.as_i64(),
            Some(expected),
            "{value} is not the integer {expected}"
        );
    }

    // -- The tables ------------------------------------------------------------------------

    #[test]
    fn every_name_is_registered_once() {
        let mut seen = std::collections::HashSet::new();
        for name in names() {
            assert!(seen.insert(name), "`{name}` is listed twice");
            assert!(
                runtime().get_function(name).is_some(),
                "`{name}` is not registered"
            );
        }
        assert_eq!(seen.len(), BUILTINS.len() + EXTENSIONS.len());
    }

    /// The hand-written built-in arities must match what the crate actually enforces.
    #[test]
    fn arities_match_what_the_runtime_enforces() {
        let call = |name: &str, count: usize| format!("{name}({})", vec!["@"; count].join(", "));
        for name in names() {
            let arity = arity(name).expect("every listed name has an arity");
            if arity.min > 0 {
                let error = eval_error(&call(name, arity.min - 1), json!(null));
                assert!(error.contains("Not enough arguments"), "{name}: {error}");
            }
            if let Some(max) = arity.max {
                let error = eval_error(&call(name, max + 1), json!(null));
                assert!(error.contains("Too many arguments"), "{name}: {error}");
            }
        }
    }

    #[test]
    fn arity_lookup() {
        assert_eq!(arity("length"), Some(Arity::exactly(1)));
        assert_eq!(arity("merge"), Some(Arity::at_least(1)));
        assert_eq!(
            arity("split"),
            Some(Arity {
                min: 2,
                max: Some(3)
            })
        );
        assert_eq!(arity("concat"), Some(Arity { min: 1, max: None }));
        assert_eq!(arity("nope"), None);
    }

    #[test]
    fn arity_reads_as_english() {
        assert_eq!(Arity::exactly(0).to_string(), "no arguments");
        assert_eq!(Arity::exactly(1).to_string(), "1 argument");
        assert_eq!(Arity::exactly(2).to_string(), "2 arguments");
        assert_eq!(Arity::between(2, 3).to_string(), "2 or 3 arguments");
        assert_eq!(Arity::between(1, 4).to_string(), "1 to 4 arguments");
        assert_eq!(Arity::at_least(0).to_string(), "any number of arguments");
        assert_eq!(Arity::at_least(1).to_string(), "at least 1 argument");
        assert_eq!(Arity::at_least(2).to_string(), "at least 2 arguments");
    }

    #[test]
    fn compiled_expressions_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>(_: &T) {}
        let expression = runtime().compile("concat(a, b)").expect("compiles");
        assert_send_sync(&expression);
        let handle = std::thread::spawn(move || {
            let result = expression
                .search(json!({"a": "x", "b": "y"}))
                .expect("runs");
            serde_json::to_value(&*result).expect("serialises")
        });
        assert_eq!(handle.join().expect("thread finishes"), json!("xy"));
    }

    #[test]
    fn extension_errors_name_the_function_and_point_at_the_call() {
        let expression = "a.lower(@)";
        let compiled = runtime().compile(expression).expect("compiles");
        let error = compiled
            .search(json!({"a": 5}))
            .expect_err("a number is not a string");
        assert_eq!(error.offset, expression.find('(').expect("has a call"));
        assert!(
            error
                .to_string()
                .contains("Argument 0 expects type string (in `lower`), given number"),
            "{error}"
        );
    }

    #[test]
    fn extensions_work_through_interpret_on_a_converted_value() {
        let expression = runtime()
            .compile("concat(first, ' ', last)")
            .expect("compiles");
        let data = Rcvar::new(
            Variable::try_from(json!({"first": "Ada", "last": "Lovelace"})).expect("converts"),
        );
        let mut context = Context::new(expression.as_str(), runtime());
        let result = jmespath::interpret(&data, expression.as_ast(), &mut context).expect("runs");
        assert_eq!(result.as_string().map(String::as_str), Some("Ada Lovelace"));
    }

    // -- check -----------------------------------------------------------------------------

    #[test]
    fn check_accepts_valid_expressions() {
        assert!(faults("a.b").is_empty());
        assert!(faults("concat(first, ' ', last)").is_empty());
        assert!(faults("sort_by(people, &age)[].{n: upper(name), o: object('k', v)}").is_empty());
        assert!(faults("if(a, b)").is_empty());
    }

    #[test]
    fn check_reports_unknown_functions_with_a_hint() {
        assert_eq!(
            faults("concta(a, b)"),
            vec![(
                0,
                "unknown function `concta` (did you mean `concat`?)".to_owned()
            )]
        );
        assert_eq!(
            faults("a.uper(b)"),
            vec![(
                2,
                "unknown function `uper` (did you mean `upper`?)".to_owned()
            )]
        );
        assert_eq!(
            faults("frobnicate(a)"),
            vec![(0, "unknown function `frobnicate`".to_owned())]
        );
    }

    #[test]
    fn check_reports_wrong_arity() {
        assert_eq!(
            faults("concat()"),
            vec![(
                0,
                "function `concat` takes at least 1 argument, got 0".to_owned()
            )]
        );
        assert_eq!(
            faults("lower(a, b)"),
            vec![(0, "function `lower` takes 1 argument, got 2".to_owned())]
        );
        assert_eq!(
            faults("split(a)"),
            vec![(
                0,
                "function `split` takes 2 or 3 arguments, got 1".to_owned()
            )]
        );
        assert_eq!(
            faults("length(a, b)"),
            vec![(0, "function `length` takes 1 argument, got 2".to_owned())]
        );
    }

    #[test]
    fn check_reports_an_odd_number_of_object_arguments() {
        assert_eq!(
            faults("object('a', b, 'c')"),
            vec![(
                0,
                "function `object` takes key/value pairs (an even number of arguments), got 3"
                    .to_owned()
            )]
        );
    }

    #[test]
    fn check_looks_inside_projections_hashes_and_arguments() {
        // Projection, then a function argument.
        assert_eq!(
            faults("people[].lower(name, x)"),
            vec![(9, "function `lower` takes 1 argument, got 2".to_owned())]
        );
        assert_eq!(
            faults("concat(lowr(a))"),
            vec![(
                7,
                "unknown function `lowr` (did you mean `lower`?)".to_owned()
            )]
        );
        // Multi-select hash value.
        assert_eq!(
            faults("{a: upper(x), b: concta(y)}"),
            vec![(
                17,
                "unknown function `concta` (did you mean `concat`?)".to_owned()
            )]
        );
        // Expression reference.
        assert_eq!(
            faults("sort_by(people, &lowr(name))"),
            vec![(
                17,
                "unknown function `lowr` (did you mean `lower`?)".to_owned()
            )]
        );
        // Filter condition.
        assert_eq!(
            faults("people[?trim(name, a, b) == 'x']"),
            vec![(
                8,
                "function `trim` takes 1 or 2 arguments, got 3".to_owned()
            )]
        );
    }

    #[test]
    fn check_walks_every_kind_of_node() {
        let expression = "[a1(x), !b1(x), c1(x) || d1(x), e1(x) && f1(x), g1(x)[], \
                          h1(x).*, i1(x) | j1(x), k1(x)[0], l1(x)[1:2], `1` < m1(x), \
                          n[?o1(x)], p1(x).q1(x)]";
        let reported: Vec<String> = faults(expression)
            .into_iter()
            .map(|(offset, message)| {
                assert!(message.starts_with("unknown function"), "{message}");
                expression[offset..].chars().take(2).collect()
            })
            .collect();
        let expected = [
            "a1", "b1", "c1", "d1", "e1", "f1", "g1", "h1", "i1", "j1", "k1", "l1", "m1", "o1",
            "p1", "q1",
        ];
        assert_eq!(reported, expected);
    }

    #[test]
    fn edit_distance_counts_transpositions_as_one() {
        assert_eq!(edit_distance("concta", "concat"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("lower", "lower"), 0);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    // -- Objects ---------------------------------------------------------------------------

    #[test]
    fn items_lists_sorted_pairs() {
        assert_eq!(
            eval("items(@)", json!({"b": 2, "a": 1})),
            json!([["a", 1], ["b", 2]])
        );
        assert_eq!(eval("items(@)", json!({})), json!([]));
        assert_eq!(eval("items(missing)", json!({})), json!(null));
        assert!(eval_error("items('x')", json!({}))
            .contains("Argument 0 expects type object (in `items`), given string"));
    }

    #[test]
    fn from_items_builds_objects() {
        assert_eq!(
            eval("from_items(@)", json!([["one", 1], ["two", 2], ["one", 3]])),
            json!({"one": 3, "two": 2})
        );
        assert_eq!(
            eval("from_items(@)", json!([[7, "seven"], [null, "dropped"]])),
            json!({"7": "seven"})
        );
        assert_eq!(
            eval(
                "from_items(fields[].[id, value])",
                json!({"fields": [{"id": "cf_a", "value": 1}]})
            ),
            json!({"cf_a": 1})
        );
        let object = json!({"a": [1], "b": {"c": null}});
        assert_eq!(eval("from_items(items(@))", object.clone()), object);
        assert_eq!(eval("from_items(missing)", json!({})), json!(null));
    }

    #[test]
    fn from_items_rejects_malformed_pairs() {
        let error = eval_error("from_items(@)", json!([["a", 1], ["b"]]));
        assert!(
            error.contains("expects type array of [key, value] pairs (in `from_items`), given array of length 1 at index 1"),
            "{error}"
        );
        let error = eval_error("from_items(@)", json!([[true, 1]]));
        assert!(
            error.contains("string key (in `from_items`), given boolean"),
            "{error}"
        );
        assert!(eval_error("from_items('x')", json!({})).contains("type array (in `from_items`)"));
    }

    #[test]
    fn object_builds_dynamic_keys() {
        assert_eq!(
            eval("object(id, name)", json!({"id": "cf_1", "name": "Tier"})),
            json!({"cf_1": "Tier"})
        );
        assert_eq!(eval("object()", json!({})), json!({}));
        assert_eq!(
            eval("object('a', `1`, missing, `2`, `3`, 'x')", json!({})),
            json!({"a": 1, "3": "x"})
        );
        assert_eq!(
            eval("object('a', `1`, 'a', `2`)", json!({})),
            json!({"a": 2})
        );
    }

    #[test]
    fn object_rejects_odd_arguments_and_bad_keys() {
        assert!(eval_error("object('a')", json!({}))
            .contains("Not enough arguments: expected 2, found 1"));
        assert!(eval_error("object('a', `1`, `[1]`, `2`)", json!({}))
            .contains("Argument 2 expects type string key (in `object`), given array"));
    }

    #[test]
    fn get_reads_awkward_and_computed_keys() {
        let record = json!({"extra.f_x": 5, "key": "extra.f_x", "empty": null, "7": "seven"});
        assert_eq!(eval("get(@, 'extra.f_x')", record.clone()), json!(5));
        assert_eq!(eval("get(@, key)", record.clone()), json!(5));
        assert_eq!(eval("get(@, `7`)", record.clone()), json!("seven"));
        assert_eq!(eval("get(@, 'nope')", record.clone()), json!(null));
        assert_eq!(
            eval("get(@, 'nope', 'default')", record.clone()),
            json!("default")
        );
        assert_eq!(eval("get(@, 'empty', `0`)", record.clone()), json!(0));
        assert_eq!(
            eval("get(missing, 'a', 'default')", record.clone()),
            json!("default")
        );
        assert_eq!(eval("get(@, missing)", record.clone()), json!(null));
        assert!(
            eval_error("get('x', 'a')", json!({})).contains("type object (in `get`), given string")
        );
        assert!(
            eval_error("get(@, `[1]`)", json!({})).contains("string key (in `get`), given array")
        );
    }

    #[test]
    fn entries_with_prefix_strips_the_prefix() {
        let lead = json!({"extra.f_abc": 1, "extra.f_def": "x", "name": "Widget"});
        assert_eq!(
            eval("entries_with_prefix(@, 'extra.')", lead.clone()),
            json!({"f_abc": 1, "f_def": "x"})
        );
        assert_eq!(
            eval("entries_with_prefix(@, 'zzz')", lead.clone()),
            json!({})
        );
        assert_eq!(eval("entries_with_prefix(@, '')", lead.clone()), lead);
        assert_eq!(
            eval("entries_with_prefix(missing, 'extra.')", json!({})),
            json!(null)
        );
        assert_eq!(
            eval("entries_with_prefix(@, missing)", json!({})),
            json!(null)
        );
        assert!(eval_error("entries_with_prefix(@, `1`)", json!({}))
            .contains("Argument 1 expects type string (in `entries_with_prefix`), given number"));
    }

    #[test]
    fn find_by_joins_on_a_field_of_the_record() {
        let data =
            json!({"pipeline_id": "p2", "pipelines": [{"id": "p1"}, {"id": "p2", "name": "B"}]});
        assert_eq!(
            eval("find_by(pipelines, 'id', pipeline_id)", data.clone()),
            json!({"id": "p2", "name": "B"})
        );
        assert_eq!(
            eval("find_by(pipelines, 'id', 'p9')", data.clone()),
            json!(null)
        );
        assert_eq!(
            eval("find_by(missing, 'id', 'p1')", data.clone()),
            json!(null)
        );
        assert!(eval_error("find_by(pipeline_id, 'id', 'p1')", data).contains("find_by"));
    }

    #[test]
    fn add_adds() {
        assert_eq!(eval("add(`1`, `2`)", json!({})), json!(3));
        assert_eq!(eval("add(`0.5`, `1`)", json!({})), json!(1.5));
        assert_eq!(eval("add(missing, `1`)", json!({})), json!(null));
        assert!(eval_error("add('a', `1`)", json!({})).contains("add"));
    }

    #[test]
    fn index_of_finds_a_position() {
        assert_eq!(eval("index_of(@, 'b')", json!(["a", "b"])), json!(1));
        assert_eq!(eval("index_of(@, 'z')", json!(["a", "b"])), json!(null));
        assert_eq!(eval("index_of(missing, 'z')", json!({})), json!(null));
    }

    #[test]
    fn rename_keys_renames_only_what_it_is_told() {
        assert_eq!(
            eval(
                "rename_keys(@, {f_1: 'Score'})",
                json!({"f_1": 7, "f_2": 8})
            ),
            json!({"Score": 7, "f_2": 8})
        );
        assert_eq!(
            eval("rename_keys(@, `null`)", json!({"a": 1})),
            json!({"a": 1})
        );
        assert_eq!(eval("rename_keys(missing, `{}`)", json!({})), json!(null));
        assert!(eval_error("rename_keys(@, `[1]`)", json!({"a": 1})).contains("rename_keys"));
    }

    #[test]
    fn with_key_prefix_adds_the_prefix() {
        assert_eq!(
            eval("with_key_prefix(@, 'extra.')", json!({"f_abc": 1})),
            json!({"extra.f_abc": 1})
        );
        let lead = json!({"extra.f_abc": 1});
        assert_eq!(
            eval(
                "with_key_prefix(entries_with_prefix(@, 'extra.'), 'extra.')",
                lead.clone()
            ),
            lead
        );
        assert_eq!(
            eval("with_key_prefix(missing, 'x')", json!({})),
            json!(null)
        );
        assert!(eval_error("with_key_prefix(`[]`, 'x')", json!({}))
            .contains("type object (in `with_key_prefix`), given array"));
    }

    #[test]
    fn compact_object_drops_null_values() {
        assert_eq!(
            eval("compact_object(@)", json!({"a": 1, "b": null, "c": false})),
            json!({"a": 1, "c": false})
        );
        assert_eq!(eval("compact_object(missing)", json!({})), json!(null));
        assert!(eval_error("compact_object(`[]`)", json!({})).contains("(in `compact_object`)"));
    }

    // -- Arrays ----------------------------------------------------------------------------

    #[test]
    fn zip_pairs_up_arrays() {
        assert_eq!(
            eval("zip(a, b)", json!({"a": ["a", "b", "c"], "b": [1, 2]})),
            json!([["a", 1], ["b", 2]])
        );
        assert_eq!(eval("zip(a)", json!({"a": [1, 2]})), json!([[1], [2]]));
        assert_eq!(eval("zip(a, b)", json!({"a": [1]})), json!(null));
        // A type error is reported even when another argument is null.
        assert!(eval_error("zip(missing, 'x')", json!({}))
            .contains("Argument 1 expects type array (in `zip`), given string"));
    }

    #[test]
    fn compact_drops_nulls() {
        assert_eq!(
            eval("compact(@)", json!([1, null, "a", false, null])),
            json!([1, "a", false])
        );
        assert_eq!(eval("compact(missing)", json!({})), json!(null));
        assert!(eval_error("compact('x')", json!({})).contains("type array (in `compact`)"));
    }

    // -- Strings ---------------------------------------------------------------------------

    #[test]
    fn lower_and_upper_change_case() {
        assert_eq!(eval("lower(@)", json!("ÉCOLE Mixed")), json!("école mixed"));
        assert_eq!(eval("upper(@)", json!("straße")), json!("STRASSE"));
        assert_eq!(eval("lower(missing)", json!({})), json!(null));
        assert_eq!(eval("upper(missing)", json!({})), json!(null));
        assert!(eval_error("upper(`1`)", json!({}))
            .contains("Argument 0 expects type string (in `upper`), given number"));
    }

    #[test]
    fn trim_removes_whitespace_or_given_characters() {
        assert_eq!(
            eval("trim(@)", json!(" \t subject string \n")),
            json!("subject string")
        );
        assert_eq!(eval("trim(@, '')", json!("  a  ")), json!("a"));
        assert_eq!(
            eval("trim(@, 'gsu ')", json!(" subject string ")),
            json!("bject strin")
        );
        assert_eq!(eval("trim(@, missing)", json!("  a  ")), json!("a"));
        assert_eq!(eval("trim_left(@)", json!("  a  ")), json!("a  "));
        assert_eq!(eval("trim_right(@, '-')", json!("--a--")), json!("--a"));
        assert_eq!(eval("trim(missing)", json!({})), json!(null));
        assert!(eval_error("trim(@, `1`)", json!("a"))
            .contains("Argument 1 expects type string (in `trim`)"));
    }

    #[test]
    fn split_breaks_strings_apart() {
        let subject = json!("average|-|min|-|max|-|mean");
        assert_eq!(
            eval("split(@, '|-|')", subject.clone()),
            json!(["average", "min", "max", "mean"])
        );
        assert_eq!(
            eval("split(@, '|-|', `2`)", subject.clone()),
            json!(["average", "min", "max|-|mean"])
        );
        assert_eq!(
            eval("split(@, '|-|', `0`)", subject.clone()),
            json!([subject])
        );
        assert_eq!(eval("split(@, '/')", json!("/")), json!(["", ""]));
        assert_eq!(eval("split(@, '')", json!("abc")), json!(["a", "b", "c"]));
        assert_eq!(eval("split(@, '', `1`)", json!("abc")), json!(["a", "bc"]));
        assert_eq!(eval("split(@, ',')", json!("")), json!([""]));
        assert_eq!(eval("split(missing, ',')", json!({})), json!(null));
        assert_eq!(eval("split('a,b', missing)", json!({})), json!(null));
    }

    #[test]
    fn split_rejects_bad_counts_and_types() {
        assert!(eval_error("split('a', ',', `-1`)", json!({}))
            .contains("Argument 2 expects type non-negative integer (in `split`), given number"));
        assert!(eval_error("split('a', ',', `1.5`)", json!({})).contains("non-negative integer"));
        assert_eq!(
            eval("split('a,b,c', ',', `1.0`)", json!({})),
            json!(["a", "b,c"])
        );
        assert!(eval_error("split(`1`, ',')", json!({})).contains("(in `split`), given number"));
    }

    #[test]
    fn replace_substitutes_text() {
        assert_eq!(
            eval("replace(@, 'aa', '-')", json!("aabaaabaaaab")),
            json!("-b-ab--b")
        );
        assert_eq!(
            eval("replace(@, 'aa', '-', `1`)", json!("aabaaabaaaab")),
            json!("-baaabaaaab")
        );
        assert_eq!(
            eval("replace(@, 'aa', '-', `0`)", json!("aab")),
            json!("aab")
        );
        assert_eq!(eval("replace(missing, 'a', 'b')", json!({})), json!(null));
        assert_eq!(eval("replace('a', 'a', missing)", json!({})), json!(null));
        assert!(eval_error("replace('a', 'a', `1`)", json!({}))
            .contains("Argument 2 expects type string (in `replace`), given number"));
    }

    #[test]
    fn pad_fills_to_a_width() {
        assert_eq!(
            eval("pad_left(@, `10`)", json!("string")),
            json!("    string")
        );
        assert_eq!(eval("pad_left(@, `5`, '0')", json!("42")), json!("00042"));
        assert_eq!(
            eval("pad_left(@, `2`, '0')", json!("12345")),
            json!("12345")
        );
        assert_eq!(eval("pad_right(@, `4`, '.')", json!("ab")), json!("ab.."));
        assert_eq!(eval("pad_right(@, `3`, 'é')", json!("ñ")), json!("ñéé"));
        assert_eq!(eval("pad_left(missing, `3`)", json!({})), json!(null));
        assert!(eval_error("pad_left('a', `3`, 'xy')", json!({})).contains(
            "Argument 2 expects type single-character string (in `pad_left`), given string of length 2"
        ));
        assert!(eval_error("pad_right('a', `-3`)", json!({}))
            .contains("non-negative integer (in `pad_right`)"));
    }

    #[test]
    fn concat_joins_strings_and_skips_nulls() {
        let person = json!({"first": "Ada", "last": "Lovelace"});
        assert_eq!(
            eval("concat(first, ' ', last)", person),
            json!("Ada Lovelace")
        );
        assert_eq!(
            eval("concat(first, ' ', last)", json!({"first": "Ada"})),
            json!("Ada ")
        );
        assert_eq!(
            eval("concat('#', `42`, '-', `true`, `1.5`)", json!({})),
            json!("#42-true1.5")
        );
        assert_eq!(eval("concat('', '')", json!({})), json!(""));
        assert_eq!(eval("concat(a, b)", json!({})), json!(null));
    }

    #[test]
    fn concat_joins_arrays_when_all_are_arrays() {
        assert_eq!(
            eval("concat(a, b, c)", json!({"a": [1], "b": [2, 3]})),
            json!([1, 2, 3])
        );
        assert!(eval_error("concat(`[1]`, 'x')", json!({}))
            .contains("Argument 0 expects type string, number or boolean (or only arrays) (in `concat`), given array"));
        assert!(eval_error("concat('x', @)", json!({})).contains("given object"));
    }

    #[test]
    fn names_split_at_the_last_word() {
        let cases = [
            (
                json!("Mary Ann Whitfield"),
                json!("Mary Ann"),
                json!("Whitfield"),
            ),
            (
                json!("  Mary   Ann \t Whitfield  "),
                json!("Mary   Ann"),
                json!("Whitfield"),
            ),
            (json!("Cher"), json!(null), json!("Cher")),
            (json!(""), json!(null), json!(null)),
            (json!("   "), json!(null), json!(null)),
            (json!(null), json!(null), json!(null)),
        ];
        for (name, before, last) in cases {
            assert_eq!(eval("words_before_last(@)", name.clone()), before, "{name}");
            assert_eq!(eval("last_word(@)", name.clone()), last, "{name}");
        }
        assert!(eval_error("last_word(`1`)", json!({})).contains("(in `last_word`), given number"));
        assert!(
            eval_error("words_before_last(`[]`)", json!({})).contains("(in `words_before_last`)")
        );
    }

    // -- Choice ----------------------------------------------------------------------------

    #[test]
    fn coalesce_picks_the_first_present_value() {
        assert_eq!(
            eval("coalesce(a, b, c)", json!({"b": "", "c": "x"})),
            json!("x")
        );
        assert_eq!(eval("coalesce(a, b)", json!({"a": 0, "b": 1})), json!(0));
        assert_eq!(
            eval("coalesce(a, b)", json!({"a": false, "b": 1})),
            json!(false)
        );
        assert_eq!(eval("coalesce(a, b)", json!({"a": [], "b": 1})), json!([]));
        assert_eq!(eval("coalesce(a, b)", json!({"b": ""})), json!(null));
    }

    #[test]
    fn if_branches_on_truthiness() {
        let choose = |condition: Value| eval("if(c, 'yes', 'no')", json!({ "c": condition }));
        assert_eq!(choose(json!(true)), json!("yes"));
        assert_eq!(choose(json!("x")), json!("yes"));
        assert_eq!(choose(json!(0)), json!("yes"));
        assert_eq!(choose(json!(false)), json!("no"));
        assert_eq!(choose(json!("")), json!("no"));
        assert_eq!(choose(json!([])), json!("no"));
        assert_eq!(choose(json!({})), json!("no"));
        assert_eq!(choose(json!(null)), json!("no"));
        assert_eq!(eval("if(c, 'yes')", json!({})), json!(null));
        assert_eq!(
            eval("if(c, a)", json!({"c": true, "a": {"x": 1}})),
            json!({"x": 1})
        );
    }

    #[test]
    fn if_evaluates_both_branches() {
        // The branch not taken still runs, so its errors still surface.
        assert!(eval_error("if(`true`, 'ok', lower(`1`))", json!({})).contains("(in `lower`)"));
    }

    // -- Numbers ---------------------------------------------------------------------------

    #[test]
    fn multiply_is_exact_on_decimals() {
        assert_integer(&eval("multiply(`19.99`, `100`)", json!({})), 1999);
        assert_integer(&eval("multiply(`0.29`, `100`)", json!({})), 29);
        assert_integer(&eval("multiply(`3`, `-4`)", json!({})), -12);
        assert_eq!(eval("multiply(`1.5`, `1.5`)", json!({})), json!(2.25));
        assert_eq!(eval("multiply(a, `2`)", json!({"a": 0.1})), json!(0.2));
        // Beyond 64 bits the exact product is rounded once, to the nearest double.
        let huge = eval(
            "multiply(`18446744073709551615`, `18446744073709551615`)",
            json!({}),
        );
        let exact: f64 = "340282366920938463426481119284349108225"
            .parse()
            .expect("parses");
        assert_eq!(huge.as_f64(), Some(exact));
        assert_eq!(eval("multiply(`1e300`, `1e300`)", json!({})), json!(null));
        assert_eq!(eval("multiply(missing, `2`)", json!({})), json!(null));
        assert!(eval_error("multiply('2', `2`)", json!({}))
            .contains("Argument 0 expects type number (in `multiply`), given string"));
    }

    #[test]
    fn divide_is_exact_when_it_can_be() {
        assert_eq!(eval("divide(`1234`, `100`)", json!({})), json!(12.34));
        assert_eq!(eval("divide(`10`, `4`)", json!({})), json!(2.5));
        assert_integer(&eval("divide(`10`, `5`)", json!({})), 2);
        assert_integer(&eval("divide(`0.3`, `0.1`)", json!({})), 3);
        assert_eq!(eval("divide(`1`, `3`)", json!({})), json!(1.0 / 3.0));
        assert_eq!(eval("divide(`-7`, `2`)", json!({})), json!(-3.5));
        assert_eq!(eval("divide(`1`, `0`)", json!({})), json!(null));
        assert_eq!(eval("divide(`1`, `0.0`)", json!({})), json!(null));
        assert_eq!(eval("divide(missing, `2`)", json!({})), json!(null));
        assert!(eval_error("divide(`1`, 'x')", json!({}))
            .contains("Argument 1 expects type number (in `divide`), given string"));
    }

    #[test]
    fn cents_to_units_divides_by_100_exactly() {
        let units = |cents: Value| eval("cents_to_units(@)", cents);
        assert_eq!(units(json!(1234)), json!(12.34));
        assert_eq!(units(json!(123456)), json!(1234.56));
        assert_eq!(units(json!(1999)), json!(19.99));
        assert_eq!(units(json!(1)), json!(0.01));
        assert_eq!(units(json!(-5)), json!(-0.05));
        assert_eq!(units(json!(12.5)), json!(0.125));
        assert_integer(&units(json!(0)), 0);
        assert_integer(&units(json!(1200)), 12);
        assert_integer(&units(json!(-100)), -1);
        assert_eq!(units(json!("1999")), json!(19.99));
        assert_eq!(units(json!("abc")), json!(null));
        assert_eq!(units(json!(null)), json!(null));
        assert!(eval_error("cents_to_units(`true`)", json!({})).contains(
            "Argument 0 expects type number or numeric string (in `cents_to_units`), given boolean"
        ));
    }

    #[test]
    fn units_to_cents_rounds_without_drift() {
        let cents = |units: Value| eval("units_to_cents(@)", units);
        assert_integer(&cents(json!(1234.56)), 123456);
        assert_integer(&cents(json!(0.29)), 29);
        assert_integer(&cents(json!(19.99)), 1999);
        assert_integer(&cents(json!(0.1 + 0.2)), 30);
        assert_integer(&cents(json!(1.005)), 101);
        assert_integer(&cents(json!(-19.99)), -1999);
        assert_integer(&cents(json!(1e7)), 1_000_000_000);
        assert_integer(&cents(json!(12)), 1200);
        assert_integer(&cents(json!(0)), 0);
        assert_integer(&cents(json!(0.125)), 13);
        assert_integer(&cents(json!(-0.125)), -13);
        assert_integer(&cents(json!(0.004)), 0);
        assert_integer(&cents(json!(1e-30)), 0);
        assert_integer(&cents(json!("12.34")), 1234);
        assert_integer(&cents(json!(" -1.5 ")), -150);
        assert_eq!(cents(json!("12,34")), json!(null));
        assert_eq!(cents(json!(1e30)), json!(null));
        assert_eq!(cents(json!(null)), json!(null));
        assert!(eval_error("units_to_cents(`[]`)", json!({})).contains(
            "Argument 0 expects type number or numeric string (in `units_to_cents`), given array"
        ));
    }

    #[test]
    fn money_round_trips() {
        for cents in [0_i64, 1, 29, 1999, 123456, -1999, 999_999_999_999] {
            assert_integer(
                &eval("units_to_cents(cents_to_units(@))", json!(cents)),
                cents,
            );
        }
    }

    #[test]
    fn decimal_parsing() {
        use super::decimal::Decimal;
        for valid in [
            "0", "-0", "12.34", "+1", ".5", "5.", "1e7", "1E-7", "1.5e+3", " 42 ",
        ] {
            assert!(Decimal::parse(valid).is_some(), "{valid}");
        }
        for invalid in [
            "", ".", "-", "e5", "1e", "1.2.3", "1,5", "NaN", "inf", "0x10", "1_000",
        ] {
            assert!(Decimal::parse(invalid).is_none(), "{invalid}");
        }
        // More than 38 significant digits does not fit.
        assert!(Decimal::parse(&"9".repeat(40)).is_none());
    }

    // -- Dates -----------------------------------------------------------------------------

    #[test]
    fn to_date_keeps_the_date_as_written() {
        let date = |text: Value| eval("to_date(@)", text);
        assert_eq!(
            date(json!("2026-02-11T16:04:51.902000+00:00")),
            json!("2026-02-11")
        );
        assert_eq!(
            date(json!("2026-02-11T23:30:00-05:00")),
            json!("2026-02-11")
        );
        assert_eq!(date(json!("2026-02-11")), json!("2026-02-11"));
        assert_eq!(date(json!("2024-02-29")), json!("2024-02-29"));
        assert_eq!(date(json!("2000-02-29")), json!("2000-02-29"));
        assert_eq!(date(json!("1900-02-29")), json!(null));
        assert_eq!(date(json!("2026-02-30")), json!(null));
        assert_eq!(date(json!("2026-13-01")), json!(null));
        assert_eq!(date(json!("2026-2-11")), json!(null));
        assert_eq!(date(json!("2026-02-11 nonsense")), json!(null));
        assert_eq!(date(json!("yesterday")), json!(null));
        assert_eq!(date(json!(null)), json!(null));
        assert!(eval_error("to_date(`1700000000`)", json!({}))
            .contains("Argument 0 expects type string (in `to_date`), given number"));
    }

    #[test]
    fn to_datetime_normalises_to_rfc3339() {
        let cases = [
            (
                "2026-02-11T16:04:51.902000+00:00",
                "2026-02-11T16:04:51.902Z",
            ),
            ("2026-02-11T16:04:51Z", "2026-02-11T16:04:51Z"),
            ("2026-02-11t16:04:51z", "2026-02-11T16:04:51Z"),
            ("2026-02-11 16:04:51", "2026-02-11T16:04:51Z"),
            ("2026-02-11T16:04:51.000Z", "2026-02-11T16:04:51Z"),
            ("2026-02-11T16:04:51.9Z", "2026-02-11T16:04:51.900Z"),
            (
                "2026-02-11T16:04:51.99999-00:00",
                "2026-02-11T16:04:51.999Z",
            ),
            ("2026-02-11T16:04:51-05:00", "2026-02-11T16:04:51-05:00"),
            ("2026-02-11T16:04:51+0530", "2026-02-11T16:04:51+05:30"),
            ("2026-02-11T16:04:51+02", "2026-02-11T16:04:51+02:00"),
            ("2026-02-11T16:04Z", "2026-02-11T16:04:00Z"),
            ("2026-12-31T23:59:60Z", "2026-12-31T23:59:60Z"),
            ("2026-02-11", "2026-02-11T00:00:00Z"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                eval("to_datetime(@)", json!(input)),
                json!(expected),
                "{input}"
            );
        }
    }

    #[test]
    fn to_datetime_rejects_what_it_cannot_read() {
        for invalid in [
            "2026-02-11T24:00:00Z",
            "2026-02-11T16:60:00Z",
            "2026-02-11T16:04:51.Z",
            "2026-02-11T16:04.5Z",
            "2026-02-11T16:04:51+24:00",
            "2026-02-11T16:04:51 +00:00",
            "2026-02-11T16:04:51Zjunk",
            "2026-02-11T1:04:51Z",
            "20260211T160451Z",
            "",
        ] {
            assert_eq!(
                eval("to_datetime(@)", json!(invalid)),
                json!(null),
                "{invalid}"
            );
        }
        assert_eq!(eval("to_datetime(missing)", json!({})), json!(null));
        assert!(
            eval_error("to_datetime(`{}`)", json!({})).contains("(in `to_datetime`), given object")
        );
    }

    // -- A mapping that uses them together -------------------------------------------------

    #[test]
    fn maps_a_crm_style_record() {
        let lead = json!({
            "id": "item_1",
            "display_name": "Mary Ann Whitfield",
            "extra.f_tier": "gold",
            "extra.f_seats": 12,
            "value": 123456,
            "date_created": "2026-02-11T16:04:51.902000+00:00",
            "contacts": [{"id": "c1", "emails": [{"email": "m@example.com"}]}, {"id": "c2", "emails": []}]
        });
        let mapping = "{
            id: id,
            first_name: words_before_last(display_name),
            last_name: last_word(display_name),
            amount: cents_to_units(value),
            created_at: to_datetime(date_created),
            custom_fields: entries_with_prefix(@, 'extra.'),
            emails: contacts[].emails[].email,
            contact_ids: join(',', contacts[].id),
            status: if(contains(keys(@), 'status_label'), status_label, 'unknown')
        }";
        assert!(faults(mapping).is_empty());
        assert_eq!(
            eval(mapping, lead),
            json!({
                "id": "item_1",
                "first_name": "Mary Ann",
                "last_name": "Whitfield",
                "amount": 1234.56,
                "created_at": "2026-02-11T16:04:51.902Z",
                "custom_fields": {"f_tier": "gold", "f_seats": 12},
                "emails": ["m@example.com"],
                "contact_ids": "c1,c2",
                "status": "unknown"
            })
        );
    }
}
